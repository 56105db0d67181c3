/**
 * The `api` role as a deployment runs it, for benchmarks: `bun src/main.ts api`
 * in its own process (LOG_LEVEL=info, a throwaway AUTH_JWT_SECRET), migrated,
 * on embedded PostgreSQL + Temporal dev server + Redis gateway started here
 * (resolveInfra with embedded + ephemeral, as the tests do) in a temp folder.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Infra, resolveInfra } from "../../src/app/infra.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/infra/log.ts";
import {
	BUN,
	type Child,
	embeddedEnv,
	freePort,
	migrateDatabase,
	onInterrupt,
	spawnChild,
	stopChild,
	waitForHttp,
} from "./proc.ts";

export interface ApiUnderTest {
	readonly base: string;
	readonly api: Child;
	readonly dataDir: string;
	/** The database the api uses (benches that seed with SQL). */
	readonly databaseUrl: string;
	/** DATABASE_URL, UPSTASH_REDIS_REST_URL/TOKEN, … of the backing services (a bench may seed or measure them directly). */
	readonly serviceEnv: Record<string, string | undefined>;
	/** Backing services up, and api spawn to first healthy answer, in ms. */
	readonly timings: { servicesMs: number; apiMs: number };
	/** Stops the api process and the backing services (the data folder stays until `removeDataDir`). */
	stop(graceMs?: number): Promise<void>;
	removeDataDir(): void;
}

export async function startApiOnEmbedded(
	name: string,
	options: {
		/** Other roles to run beside the api, each in its own process (as production does). */
		with?: Array<"worker" | "bridge">;
		/** Extra environment for every role. */
		env?: Record<string, string>;
	} = {},
): Promise<ApiUnderTest> {
	const dataDir = mkdtempSync(join(tmpdir(), `herald-bench-${name}-`));
	chmodSync(dataDir, 0o755); // embedded Postgres runs as the postgres user when we are root
	const removeDataDir = () => rmSync(dataDir, { recursive: true, force: true });
	onInterrupt(async () => removeDataDir());
	const env = embeddedEnv(dataDir);
	let infra: Infra | undefined;
	let api: Child | undefined;
	const others: Child[] = [];
	const stop = async (graceMs = 20_000) => {
		await Promise.all([...(api ? [api] : []), ...others].map((c) => stopChild(c, graceMs)));
		await infra?.stop();
	};
	try {
		const t0 = performance.now();
		infra = await resolveInfra(loadConfig(env, { HERALD_ENV: "test", LOG_LEVEL: "warn" }), {
			embedded: true,
			ephemeral: true,
			log: createLogger("warn", { component: `bench-${name}` }),
		});
		const started = infra;
		onInterrupt(() => started.stop());
		const servicesMs = performance.now() - t0;
		const serviceEnv = {
			...env,
			DATABASE_URL: infra.databaseUrl,
			TEMPORAL_ADDRESS: infra.temporalAddress,
			UPSTASH_REDIS_REST_URL: infra.redisRestUrl,
			UPSTASH_REDIS_REST_TOKEN: infra.redisRestToken,
			METRICS_PORT: "0", // several roles on one machine
			// Production mode (like a deployed api) wants a signing key; a throwaway one will do.
			AUTH_JWT_SECRET:
				env.AUTH_JWT_SECRET ?? Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url"),
			...options.env,
		};
		await migrateDatabase(serviceEnv);
		const port = freePort();
		const t1 = performance.now();
		api = spawnChild([BUN, "src/main.ts", "api"], {
			...serviceEnv,
			HOST: "127.0.0.1",
			PORT: String(port),
			LOG_LEVEL: "info",
		});
		const base = `http://127.0.0.1:${port}`;
		for (const role of options.with ?? []) {
			const child = spawnChild([BUN, "src/main.ts", role], { ...serviceEnv, LOG_LEVEL: "info" });
			others.push(child);
			await child.waitForLine(/"msg":"ready"/, 60_000);
		}
		await waitForHttp(`${base}/api/v1/health`, { timeoutMs: 60_000, child: api });
		return {
			base,
			api,
			dataDir,
			databaseUrl: infra.databaseUrl,
			serviceEnv,
			timings: { servicesMs, apiMs: performance.now() - t1 },
			stop,
			removeDataDir,
		};
	} catch (error) {
		await stop(5000);
		removeDataDir();
		throw error;
	}
}
