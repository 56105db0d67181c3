/** A real Temporal dev server and a real Bun worker: the daily cleanup end to end, and its schedule. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ensureSchedules, wantedSchedules } from "../src/app/schedules.ts";
import { startWorker, type WorkerHandle } from "../src/app/worker.ts";
import { createLogger } from "../src/infra/log.ts";
import { connectTemporalClient, type TemporalClientHandle } from "../src/infra/temporal/client.ts";
import { scheduleIds, workflowIds } from "../workflows/kit/ids.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { testEnv } from "./support/env.ts";
import { eventually } from "./support/wait.ts";

const taskQueue = `test-temporal-${process.pid}`;
let db: TestDatabase;
let temporal: TemporalClientHandle;
let worker: WorkerHandle;

beforeAll(async () => {
	const env = await testEnv();
	db = await freshDatabase();
	temporal = await connectTemporalClient({ address: env.temporalAddress, namespace: "default" });
	worker = await startWorker({
		address: env.temporalAddress,
		namespace: "default",
		taskQueue,
		deps: { sql: db.sql },
		log: createLogger("warn"),
	});
});

afterAll(async () => {
	await worker?.shutdown();
	await temporal?.close();
	await db?.drop();
});

/** The daily cleanup's schedule alone (the reconciler's has its own test). */
const cleanupOnly = (options: Parameters<typeof wantedSchedules>[0]) =>
	wantedSchedules(options).filter((s) => s.scheduleId === scheduleIds.dailyCleanup);

describe("temporal worker on bun", () => {
	test("dailyCleanup runs its tasks as activities and records the run in Postgres", async () => {
		await db.sql`insert into cleanup_runs (finished_at, removed) values
			(now() - interval '100 days', '{}'), (now() - interval '1 day', '{}')`;
		const result = await temporal.client.workflow.execute("dailyCleanup", {
			taskQueue,
			workflowId: workflowIds.cleanup(`test-${crypto.randomUUID()}`),
			args: [],
		});
		expect(result.removed["cleanup-runs"]).toBe(1);
		expect(Object.keys(result.removed)).toEqual(
			expect.arrayContaining(["expired-refresh-tokens", "ended-sessions"]),
		);
		const runs = await db.sql<
			{ removed: Record<string, number> }[]
		>`select removed from cleanup_runs order by id`;
		expect(runs).toHaveLength(2); // the recent one kept, the 100-day-old one purged, this run recorded
		expect(runs.at(-1)?.removed).toEqual(result.removed);
	});

	test("the cleanup schedule is registered idempotently and triggering it runs the workflow", async () => {
		const wanted = cleanupOnly({ taskQueue, cleanupCron: "0 2 * * *", reconcileIntervalSeconds: 300 }).map(
			(s) => ({
				...s,
				scheduleId: `${s.scheduleId}-${taskQueue}`,
			}),
		);
		await ensureSchedules(temporal.client, wanted);
		await ensureSchedules(temporal.client, wanted); // a second process starting at once
		const handle = temporal.client.schedule.getHandle(wanted[0]!.scheduleId);
		try {
			const described = await handle.describe();
			expect(described.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 2, end: 2, step: 1 }] });
			expect(described.action).toMatchObject({
				type: "startWorkflow",
				workflowType: "dailyCleanup",
				taskQueue,
			});

			const before = (await db.sql<{ n: number }[]>`select count(*)::int as n from cleanup_runs`)[0]!.n;
			await handle.trigger();
			await eventually(
				async () =>
					(await db.sql<{ n: number }[]>`select count(*)::int as n from cleanup_runs`)[0]!.n > before,
				{ what: "the triggered cleanup run", timeoutMs: 20_000 },
			);
			const recent = await handle.describe();
			expect(recent.info.recentActions.length).toBeGreaterThan(0);
		} finally {
			await handle.delete();
		}
	});

	test("re-registering with a new cron updates the existing schedule", async () => {
		const id = `herald-daily-cleanup-update-${taskQueue}`;
		const first = cleanupOnly({ taskQueue, cleanupCron: "0 2 * * *", reconcileIntervalSeconds: 300 }).map(
			(s) => ({
				...s,
				scheduleId: id,
			}),
		);
		const second = cleanupOnly({ taskQueue, cleanupCron: "30 3 * * *", reconcileIntervalSeconds: 300 }).map(
			(s) => ({
				...s,
				scheduleId: id,
			}),
		);
		await ensureSchedules(temporal.client, first);
		await ensureSchedules(temporal.client, second);
		const handle = temporal.client.schedule.getHandle(id);
		try {
			const described = await handle.describe();
			expect(described.spec.calendars?.[0]).toMatchObject({
				hour: [{ start: 3, end: 3, step: 1 }],
				minute: [{ start: 30, end: 30, step: 1 }],
			});
		} finally {
			await handle.delete();
		}
	});
});
