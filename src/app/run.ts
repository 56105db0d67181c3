/**
 * Starts the chosen roles on resolved infrastructure and stops them in the
 * right order: HTTP stops accepting, the worker drains, the bridge unlistens,
 * pools close, then the child servers this process started.
 */

import { startBridge } from "../bridge/bridge.ts";
import { outboxStats } from "../bridge/outbox.ts";
import type { HeraldConfig } from "../config.ts";
import { deliveryPolicies } from "../deliveries/policy.ts";
import { migrate } from "../infra/db/migrate.ts";
import { createSql, pingDatabase } from "../infra/db/sql.ts";
import type { Logger } from "../infra/log.ts";
import { createRedis, pingRedis } from "../infra/redis/client.ts";
import { connectTemporalClient, pingTemporal } from "../infra/temporal/client.ts";
import { createDestinationGuard, guardSettings } from "../outbound/guard.ts";
import { createSenders, senderSettings } from "../outbound/senders/index.ts";
import { VERSION } from "../version.ts";
import { createApp } from "./api.ts";
import type { Infra } from "./infra.ts";
import type { Role } from "./roles.ts";
import { ensureSchedules, wantedSchedules } from "./schedules.ts";
import { bootstrapAdmin, createApiServices } from "./services.ts";
import { startWorker } from "./worker.ts";

export interface Running {
	readonly apiUrl: string | undefined;
	stop(): Promise<void>;
}

export async function runRoles(
	role: Role,
	config: HeraldConfig,
	infra: Infra,
	log: Logger,
): Promise<Running> {
	const all = role === "all" || role === "dev";
	const stops: Array<[string, () => Promise<unknown>]> = [];
	// Each part gets a bounded share of the shutdown budget: after a terminal Ctrl-C
	// Postgres (same process group) may already be gone, and a part waiting on it
	// must not hold up the rest.
	const partMs = Math.max(1000, Math.floor(config.shutdownTimeoutMs / 4));
	const stop = async () => {
		for (const [name, fn] of stops.reverse()) {
			try {
				await withTimeout(fn(), partMs, name);
				log.debug("stopped", { part: name });
			} catch (error) {
				// After a terminal Ctrl-C, Postgres (same process group) may be gone already.
				const gone = /CONNECTION_(CLOSED|ENDED|DESTROYED)/.test(String(error));
				log[gone ? "debug" : "warn"]("stop failed", { part: name, error });
			}
		}
		stops.length = 0;
	};
	try {
		const sql = createSql(infra.databaseUrl, {
			max: config.database.poolMax,
			applicationName: `herald-${role}`,
		});
		stops.push(["postgres pool", () => sql.end({ timeout: 5 })]);
		if (role === "migrate" || all)
			await migrate(sql, { onApplied: (name) => log.info("migration applied", { name }) });
		if (role === "migrate") return { apiUrl: undefined, stop };

		const redis = createRedis({ url: infra.redisRestUrl, token: infra.redisRestToken });
		const temporal = await connectTemporalClient({
			address: infra.temporalAddress,
			namespace: config.temporal.namespace,
		});
		stops.push(["temporal client", temporal.close]);

		if (role === "worker" || all) {
			await ensureSchedules(
				temporal.client,
				wantedSchedules({ taskQueue: config.temporal.taskQueue, cleanupCron: config.cleanupCron }),
			);
			// Stopped after the worker (stops run in reverse): in-flight deliveries finish first.
			const senders = createSenders(senderSettings(config.delivery));
			stops.push(["delivery senders", senders.close]);
			const guard = createDestinationGuard(redis, guardSettings(config.delivery), log);
			stops.push(["delivery guard", guard.dispose]);
			deliveryPolicies(config.delivery); // a malformed DELIVERY_RETRY_* stops start-up, not the first delivery
			const worker = await startWorker({
				address: infra.temporalAddress,
				namespace: config.temporal.namespace,
				taskQueue: config.temporal.taskQueue,
				deps: {
					sql,
					cleanup: { outboxRetentionHours: config.outboxRetentionHours },
					delivery: { senders, guard, settings: config.delivery },
				},
				log,
				shutdownGraceMs: Math.max(1000, config.shutdownTimeoutMs - 5000),
			});
			stops.push(["worker", worker.shutdown]);
			log.info("worker running", {
				taskQueue: config.temporal.taskQueue,
				pollIntervalMs: config.bridgePollMs,
				batchTimeoutMs: config.bridgeBatchTimeoutMs,
			});
		}
		if (role === "bridge" || all) {
			const bridge = await startBridge({
				sql,
				log,
				temporal: temporal.client,
				taskQueue: config.temporal.taskQueue,
				pollIntervalMs: config.bridgePollMs,
				batchTimeoutMs: config.bridgeBatchTimeoutMs,
			});
			stops.push(["bridge", bridge.stop]);
		}
		let apiUrl: string | undefined;
		if (role === "api" || all) {
			const services = createApiServices({ config, sql, redis, temporal: temporal.client, log });
			stops.push(["api services", services.dispose]);
			await bootstrapAdmin(sql, config, log);
			const app = createApp({
				services,
				log,
				version: VERSION,
				corsOrigins: config.corsOrigins,
				bodyLimitBytes: config.bodyLimitBytes,
				probes: {
					database: () => pingDatabase(sql),
					temporal: () => pingTemporal(temporal.client),
					redis: () => pingRedis(redis),
					bridge: () => outboxStats(sql),
				},
			}).listen({ hostname: config.host, port: config.port, maxRequestBodySize: config.bodyLimitBytes });
			const server = app.server!;
			apiUrl = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${server.port}`;
			// Open WebSockets keep Elysia's stop() waiting: close them first.
			stops.push([
				"http",
				async () => {
					await services.realtime.stop();
					await app.stop();
				},
			]);
			log.info("api listening", { url: apiUrl, swagger: `${apiUrl}/swagger` });
		}
		return { apiUrl, stop };
	} catch (error) {
		await stop();
		throw error;
	}
}

async function withTimeout<T>(work: Promise<T>, ms: number, part: string): Promise<T> {
	let timer: Timer | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${part} did not stop within ${ms} ms`)), ms);
	});
	try {
		return await Promise.race([work, timeout]);
	} finally {
		clearTimeout(timer);
	}
}
