/**
 * The full Herald app for a test file: its own database, the run's real
 * Redis (through @upstash/redis) with a per-file rate-limit prefix, real
 * services, driven through `app.handle`.
 */

import { type App, createApp } from "../../src/app/api.ts";
import { type ApiRuntime, createApiContext, createPlatform } from "../../src/app/services.ts";
import { loadConfig } from "../../src/config.ts";
import { features } from "../../src/features.ts";
import { pingDatabase } from "../../src/infra/db/sql.ts";
import { createLogger } from "../../src/infra/log.ts";
import { createRedis, pingRedis } from "../../src/infra/redis/client.ts";
import { connectTemporalClient } from "../../src/infra/temporal/client.ts";
import { bootstrapAdmin } from "../../src/users/admin-bootstrap.ts";
import { freshDatabase, type TestDatabase } from "./db.ts";
import { testEnv } from "./env.ts";

export interface TestApp {
	db: TestDatabase;
	/** The features' context (guard, realtime, …); `dispose` also disposes the platform. */
	services: ApiRuntime;
	app: App;
	request(
		method: string,
		path: string,
		options?: { body?: unknown; token?: string; headers?: Record<string, string> },
	): Promise<{
		status: number;
		headers: Headers;
		body: any;
	}>;
	stop(): Promise<void>;
}

export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
	const infra = await testEnv();
	const db = await freshDatabase();
	const config = loadConfig({
		HERALD_ENV: "test",
		AUTH_JWT_SECRET: "test-secret-test-secret-test-secret-0123456789",
		AUTH_LIMIT_PER_ACCOUNT: "1000",
		AUTH_LIMIT_PER_ADDRESS: "1000",
		...env,
	});
	const log = createLogger("warn");
	const redis = createRedis({ url: infra.redisRestUrl, token: infra.redisRestToken });
	const temporal = await connectTemporalClient({ address: infra.temporalAddress, namespace: "default" });
	// A Redis prefix of its own: circuits and rate limits of one test file never meet another's.
	const platform = createPlatform({
		config,
		redis,
		log,
		redisPrefix: `test:${process.pid}:${crypto.randomUUID()}:`,
	});
	const context = createApiContext({
		config,
		sql: db.sql,
		redis,
		temporal: temporal.client,
		log,
		platform,
		features,
	});
	const services: ApiRuntime = {
		...context,
		async dispose() {
			try {
				await context.dispose();
			} finally {
				await platform.dispose();
			}
		},
	};
	await bootstrapAdmin(db.sql, config, log);
	const app = createApp({
		log,
		version: "test",
		corsOrigins: ["*"],
		bodyLimitBytes: 65_536,
		probes: {
			database: () => pingDatabase(db.sql),
			temporal: async () => {},
			redis: () => pingRedis(redis),
			authCache: () => ({ state: context.sessionCache.state(), entries: context.sessionCache.size() }),
		},
		features: { context, list: features },
	});
	return {
		db,
		services,
		app,
		async request(method, path, options = {}) {
			const headers: Record<string, string> = { ...options.headers };
			if (options.body !== undefined) headers["content-type"] = "application/json";
			if (options.token) headers.authorization = `Bearer ${options.token}`;
			const res = await app.handle(
				new Request(`http://localhost${path}`, {
					method,
					headers,
					body: options.body === undefined ? undefined : JSON.stringify(options.body),
				}),
			);
			const text = await res.text();
			let body: unknown = text;
			try {
				body = text ? JSON.parse(text) : undefined;
			} catch {}
			return { status: res.status, headers: res.headers, body };
		},
		async stop() {
			await services.dispose();
			await temporal.close();
			await db.drop();
		},
	};
}
