/**
 * Starts the chosen roles on resolved infrastructure and stops them in the
 * right order: HTTP stops accepting, the worker drains, the bridge unlistens,
 * pools close, then the child servers this process started.
 */

import { Option } from "effect";
import { startBridge } from "../bridge/bridge.ts";
import { outboxStats } from "../bridge/outbox.ts";
import { type HeraldConfig, secret } from "../config.ts";
import { sampleCircuits } from "../deliveries/metrics.ts";
import { features } from "../features.ts";
import { createSql, pingDatabase } from "../infra/db/sql.ts";
import type { Logger } from "../infra/log.ts";
import { enableProcessMetrics } from "../infra/metrics.ts";
import { type MetricsServer, startMetricsServer } from "../infra/metrics-server.ts";
import { freePort } from "../infra/process.ts";
import { createRedis, pingRedis } from "../infra/redis/client.ts";
import { connectTemporalClient, pingTemporal } from "../infra/temporal/client.ts";
import { setupTracing } from "../infra/tracing.ts";
import { lastReconcile } from "../maintenance/repository.ts";
import { maintenanceSettings } from "../maintenance/settings.ts";
import { startProcessor } from "../triggers/processor.ts";
import { triggerSettings } from "../triggers/settings.ts";
import { bootstrapAdmin } from "../users/admin-bootstrap.ts";
import { VERSION } from "../version.ts";
import { createApp } from "./api.ts";
import type { Infra } from "./infra.ts";
import { migrate } from "./migrate.ts";
import type { Role } from "./roles.ts";
import { ensureSchedules, wantedSchedules } from "./schedules.ts";
import { createApiContext, createPlatform } from "./services.ts";
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
		// First: the pools and clients made below trace only if tracing is on when they are made.
		const tracing = await setupTracing({
			endpoint: Option.getOrUndefined(config.otel.endpoint),
			serviceName: Option.getOrElse(config.otel.serviceName, () => `herald-${role}`),
		});
		if (tracing) {
			stops.unshift(["tracing", () => tracing.shutdown()]); // runs last: flushes every part's spans
			log.info("tracing on", { endpoint: Option.getOrUndefined(config.otel.endpoint) });
		}
		const sql = createSql(infra.databaseUrl, {
			max: config.database.poolMax,
			applicationName: `herald-${role}`,
		});
		stops.push(["postgres pool", () => sql.end({ timeout: 5 })]);
		if (role === "migrate" || all)
			await migrate(sql, { onApplied: (name) => log.info("migration applied", { name }) });
		if (role === "migrate") return { apiUrl: undefined, stop };

		// Every long-running role (the processor too) serves /metrics on its own port.
		let metrics: MetricsServer | undefined;
		if (config.metricsPort > 0) {
			enableProcessMetrics();
			metrics = startMetricsServer({ host: config.metricsHost, port: config.metricsPort });
			stops.push(["metrics", () => metrics!.stop()]);
			log.info("metrics listening", { url: `${metrics.url}/metrics` });
		}
		// The processor needs PostgreSQL only (its fires reach Temporal through the outbox).
		if (role === "processor" || all) {
			const processor = await startProcessor({ sql, log, settings: triggerSettings(config) });
			stops.push(["processor", processor.stop]);
		}
		if (role === "processor") return { apiUrl: undefined, stop };

		const redis = createRedis({ url: infra.redisRestUrl, token: infra.redisRestToken });
		const temporal = await connectTemporalClient({
			address: infra.temporalAddress,
			namespace: config.temporal.namespace,
		});
		stops.push(["temporal client", temporal.close]);
		// One Effect runtime, one set of senders and one guard per process, whatever the roles.
		const platform = createPlatform({ config, redis, log });
		stops.push(["platform", platform.dispose]);

		if (role === "worker" || all) {
			// The SDK core serves its own metrics on loopback; /metrics appends them.
			const temporalMetrics = metrics ? `127.0.0.1:${freePort()}` : undefined;
			if (temporalMetrics) metrics!.addUpstream(`http://${temporalMetrics}/metrics`);
			const maintenance = maintenanceSettings(config);
			await ensureSchedules(
				temporal.client,
				wantedSchedules({
					taskQueue: config.temporal.taskQueue,
					cleanupCron: maintenance.cleanupCron,
					reconcileIntervalSeconds: maintenance.reconcileIntervalSeconds,
				}),
			);
			// Stopped before the platform (stops run in reverse): in-flight deliveries finish first.
			const worker = await startWorker({
				address: infra.temporalAddress,
				namespace: config.temporal.namespace,
				taskQueue: config.temporal.taskQueue,
				deps: {
					sql,
					config,
					temporal: temporal.client,
					outbound: { senders: platform.senders, guard: platform.guard },
				},
				log,
				shutdownGraceMs: Math.max(1000, config.shutdownTimeoutMs - 5000),
				temporalMetricsAddress: temporalMetrics,
			});
			stops.push(["worker", worker.shutdown]);
			if (metrics) {
				const unsample = sampleCircuits(platform.guard);
				stops.push(["circuit metrics", async () => unsample()]);
			}
			log.info("worker running", { taskQueue: config.temporal.taskQueue });
		}
		if (role === "bridge" || all) {
			// The NATS client is imported only with the bus on.
			const bus = Option.isSome(config.nats.url)
				? (await import("../bridge/bus.ts")).createBus({
						url: secret(config.nats.url.value),
						stream: config.nats.stream,
						subjectPrefix: config.nats.subjectPrefix,
						duplicateWindowSeconds: config.nats.duplicateWindowSeconds,
						log,
					})
				: undefined;
			if (bus) {
				stops.push(["event bus", bus.close]); // after the bridge (stops run in reverse)
				metrics?.addCheck("eventBus", () => ({
					ok: bus.connected,
					detail: bus.connected ? "connected" : "down",
				}));
			}
			const bridge = await startBridge({
				bus,
				sql,
				log,
				temporal: temporal.client,
				taskQueue: config.temporal.taskQueue,
				pollIntervalMs: config.bridgePollMs,
				batchTimeoutMs: config.bridgeBatchTimeoutMs,
				concurrency: config.bridgeConcurrency,
				maxSignals: config.bridgeMaxSignals,
			});
			stops.push(["bridge", bridge.stop]);
		}
		let apiUrl: string | undefined;
		if (role === "api" || all) {
			const context = createApiContext({
				config,
				sql,
				redis,
				temporal: temporal.client,
				log,
				platform,
				features,
			});
			stops.push(["realtime", context.dispose]);
			await bootstrapAdmin(sql, config, log);
			const app = createApp({
				log,
				version: VERSION,
				corsOrigins: config.corsOrigins,
				bodyLimitBytes: config.bodyLimitBytes,
				probes: {
					database: () => pingDatabase(sql),
					temporal: () => pingTemporal(temporal.client),
					redis: () => pingRedis(redis),
					bridge: () => outboxStats(sql),
					reconciler: () => lastReconcile(sql),
					authCache: () => ({ state: context.sessionCache.state(), entries: context.sessionCache.size() }),
				},
				features: { context, list: features },
			}).listen({ hostname: config.host, port: config.port, maxRequestBodySize: config.bodyLimitBytes });
			const server = app.server!;
			apiUrl = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${server.port}`;
			// Open WebSockets keep Elysia's stop() waiting: close them first.
			stops.push([
				"http",
				async () => {
					await context.realtime.stop();
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
