/**
 * The Temporal worker: every workflow in `workflows/`, every feature's
 * activities, each registered as `<feature>.<name>` (a duplicate is an
 * error at start-up, not a silent override). Runs on Bun.
 */
import { resolve } from "node:path";
import type { Client } from "@temporalio/client";
import { NativeConnection, Runtime, Worker } from "@temporalio/worker";
import { activityName } from "../../workflows/kit/activities.ts";
import { type HeraldConfig, loadConfig } from "../config.ts";
import type { Activities, Feature, WorkerContext } from "../feature.ts";
import { features as allFeatures } from "../features.ts";
import type { Sql } from "../infra/db/sql.ts";
import type { Logger } from "../infra/log.ts";
import { connectTemporalClient } from "../infra/temporal/client.ts";
import { tracingInterceptors } from "./worker-tracing.ts";

export const WORKFLOWS_PATH = resolve(import.meta.dir, "../../workflows/index.ts");

let runtimeInstalled = false;

/**
 * Routes the SDK's own logs into Herald's JSON logger and, given an address,
 * serves the SDK core's own metrics (`temporal_*`, Prometheus text) there;
 * once per process: the first call decides.
 */
function installRuntime(log: Logger, metricsAddress?: string): void {
	if (runtimeInstalled) return;
	runtimeInstalled = true;
	const sdk = log.child({ component: "temporal-sdk" });
	Runtime.install({
		...(metricsAddress && {
			telemetryOptions: {
				metrics: {
					prometheus: {
						bindAddress: metricsAddress,
						useSecondsForDurations: true,
						countersTotalSuffix: true,
					},
				},
			},
		}),
		logger: {
			log: (level, message, meta) =>
				sdk[level === "ERROR" ? "error" : level === "WARN" ? "warn" : "debug"](message, meta),
			trace: () => {},
			debug: (m, meta) => sdk.debug(m, meta),
			info: (m, meta) => sdk.debug(m, meta),
			warn: (m, meta) => sdk.warn(m, meta),
			error: (m, meta) => sdk.error(m, meta),
		},
	});
}

export interface WorkerHandle {
	readonly worker: Worker;
	/** Resolves when the worker has stopped (after `shutdown`). */
	readonly done: Promise<void>;
	shutdown(): Promise<void>;
}

export interface WorkerDeps {
	sql: Sql;
	/** Defaults to the configuration's defaults (tests). */
	config?: HeraldConfig;
	/** Outbound transport; without it deliveries are planned but not sent. */
	outbound?: WorkerContext["outbound"];
	/** For activities that start or signal workflows; the worker connects its own when absent. */
	temporal?: Client;
}

/**
 * Every feature's activities under `<feature>.<name>`; a name registered
 * twice stops the worker. Each is also registered under its bare name when
 * that name is unique across features: workflows whose histories predate
 * namespacing replay with bare names (see `featureActivities` in the kit), and
 * activity tasks they scheduled then still find their function.
 */
export function featureActivities(ctx: WorkerContext): Activities {
	const all: Activities = {};
	const bare = new Map<string, Activities[string] | null>();
	for (const feature of ctx.features)
		for (const [name, fn] of Object.entries(feature.activities?.(ctx) ?? {})) {
			const key = activityName(feature.name, name);
			if (key in all) throw new Error(`activity ${key} is registered twice`);
			all[key] = fn;
			bare.set(name, bare.has(name) ? null : fn); // null: more than one feature has it
		}
	for (const [name, fn] of bare) if (fn && !(name in all)) all[name] = fn;
	return all;
}

export async function startWorker(options: {
	address: string;
	namespace: string;
	taskQueue: string;
	deps: WorkerDeps;
	log: Logger;
	shutdownGraceMs?: number;
	features?: readonly Feature[];
	/** Sticky-cache size (default WORKER_MAX_CACHED_WORKFLOWS of the configuration, 2000). */
	maxCachedWorkflows?: number;
	/** `host:port` for the SDK runtime's Prometheus exporter (only if this is the process's first worker). */
	temporalMetricsAddress?: string;
}): Promise<WorkerHandle> {
	installRuntime(options.log, options.temporalMetricsAddress);
	const ownClient = options.deps.temporal
		? undefined
		: await connectTemporalClient({ address: options.address, namespace: options.namespace });
	const connection = await NativeConnection.connect({ address: options.address });
	const worker = await Worker.create({
		connection,
		namespace: options.namespace,
		taskQueue: options.taskQueue,
		workflowsPath: WORKFLOWS_PATH,
		activities: featureActivities({
			config: options.deps.config ?? loadConfig({}),
			sql: options.deps.sql,
			temporal: options.deps.temporal ?? ownClient!.client,
			taskQueue: options.taskQueue,
			log: options.log,
			outbound: options.deps.outbound,
			features: options.features ?? allFeatures,
		}),
		shutdownGraceTime: options.shutdownGraceMs ?? 10_000,
		maxCachedWorkflows:
			options.maxCachedWorkflows ?? (options.deps.config ?? loadConfig({})).temporal.workerMaxCachedWorkflows,
		bundlerOptions: { ignoreModules: [] },
		...(await tracingInterceptors()),
	});
	const done = worker
		.run()
		.finally(() => connection.close())
		.finally(() => ownClient?.close());
	return {
		worker,
		done,
		async shutdown() {
			if (worker.getState() === "RUNNING") worker.shutdown();
			await done;
		},
	};
}
