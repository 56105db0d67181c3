/** A worker and a bridge for tests, on a task queue of their own. */

import type { DeliveryDeps } from "../../activities/deliveries/index.ts";
import { startWorker, type WorkerHandle } from "../../src/app/worker.ts";
import { type BridgeHandle, startBridge } from "../../src/bridge/bridge.ts";
import { loadConfig } from "../../src/config.ts";
import type { Sql } from "../../src/infra/db/sql.ts";
import { createLogger } from "../../src/infra/log.ts";
import { connectTemporalClient, type TemporalClientHandle } from "../../src/infra/temporal/client.ts";
import { testEnv } from "./env.ts";

export interface Actors {
	taskQueue: string;
	temporal: TemporalClientHandle;
	worker: WorkerHandle;
	/** A notify bridge on `sql` that signals these actors (60 s safety poll unless given). */
	bridge(
		sql: Sql,
		pollIntervalMs?: number,
		tuning?: { concurrency?: number; entitiesPerBatch?: number },
	): Promise<BridgeHandle>;
	stop(): Promise<void>;
}

export interface ActorOptions {
	/** Senders, guard and settings: without them deliveries are planned but not sent. */
	delivery?: DeliveryDeps;
	/** Join an existing task queue (e.g. to take over from a worker that died). */
	taskQueue?: string;
	/** Configuration variables for the worker's features (e.g. PAYOUT_PROVIDER_URL). */
	env?: Record<string, string>;
}

export async function startActors(sql: Sql, name: string, options: ActorOptions = {}): Promise<Actors> {
	const env = await testEnv();
	const taskQueue = options.taskQueue ?? `test-${name}-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
	const temporal = await connectTemporalClient({ address: env.temporalAddress, namespace: "default" });
	const worker = await startWorker({
		address: env.temporalAddress,
		namespace: "default",
		taskQueue,
		deps: {
			sql,
			temporal: temporal.client,
			// The delivery settings (retry policies) of the kit that built the senders and guard.
			config: options.delivery
				? { ...loadConfig({ HERALD_ENV: "test", ...options.env }), delivery: options.delivery.settings }
				: options.env
					? loadConfig({ HERALD_ENV: "test", ...options.env })
					: undefined,
			outbound: options.delivery && { senders: options.delivery.senders, guard: options.delivery.guard },
		},
		log: createLogger("warn"),
	});
	return {
		taskQueue,
		temporal,
		worker,
		bridge: (bridgeSql, pollIntervalMs = 60_000, tuning = {}) =>
			startBridge({
				sql: bridgeSql,
				temporal: temporal.client,
				taskQueue,
				log: createLogger("warn"),
				pollIntervalMs,
				...tuning,
			}),
		async stop() {
			await worker.shutdown();
			await temporal.close();
		},
	};
}
