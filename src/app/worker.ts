/**
 * The Temporal worker: every workflow in `workflows/`, every activity from
 * `createActivities`. Runs on Bun.
 */
import { resolve } from "node:path";
import { NativeConnection, Runtime, Worker } from "@temporalio/worker";
import type { ActivityDeps } from "../../activities/index.ts";
import { createActivities } from "../../activities/index.ts";
import type { Logger } from "../infra/log.ts";

export const WORKFLOWS_PATH = resolve(import.meta.dir, "../../workflows/index.ts");

let runtimeInstalled = false;

/** Routes the SDK's own logs into Herald's JSON logger, once per process. */
function installRuntime(log: Logger): void {
	if (runtimeInstalled) return;
	runtimeInstalled = true;
	const sdk = log.child({ component: "temporal-sdk" });
	Runtime.install({
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

export async function startWorker(options: {
	address: string;
	namespace: string;
	taskQueue: string;
	deps: ActivityDeps;
	log: Logger;
	shutdownGraceMs?: number;
}): Promise<WorkerHandle> {
	installRuntime(options.log);
	const connection = await NativeConnection.connect({ address: options.address });
	const worker = await Worker.create({
		connection,
		namespace: options.namespace,
		taskQueue: options.taskQueue,
		workflowsPath: WORKFLOWS_PATH,
		activities: createActivities(options.deps),
		shutdownGraceTime: options.shutdownGraceMs ?? 10_000,
		bundlerOptions: { ignoreModules: [] },
	});
	const done = worker.run().finally(() => connection.close());
	return {
		worker,
		done,
		async shutdown() {
			if (worker.getState() === "RUNNING") worker.shutdown();
			await done;
		},
	};
}
