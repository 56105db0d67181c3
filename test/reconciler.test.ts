/**
 * The reconciler against real PostgreSQL and Temporal: an actor terminated by
 * hand is restarted, a notification that never got a delivery workflow gets
 * one, an actor whose row is gone ends; what it repaired is recorded and
 * reported by /api/v1/health's probe. Its schedule is registered like the
 * cleanup's.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ensureSchedules, wantedSchedules } from "../src/app/schedules.ts";
import { lastReconcile } from "../src/maintenance/repository.ts";
import { eventActorDefinition } from "../workflows/event.ts";
import { scheduleIds, workflowIds } from "../workflows/kit/ids.ts";
import { type ReconcileResult, reconcile } from "../workflows/reconcile.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { eventually } from "./support/wait.ts";

let db: TestDatabase;
let actors: Actors;
let owner: string;

beforeAll(async () => {
	db = await freshDatabase();
	actors = await startActors(db.sql, "reconciler");
	const [user] =
		await db.sql`insert into users (email, display_name) values ('o@example.com', 'O') returning id`;
	owner = user!.id;
});

afterAll(async () => {
	await actors.stop();
	await db.drop();
});

const client = () => actors.temporal.client;

function runReconcile(): Promise<ReconcileResult> {
	return client().workflow.execute(reconcile, {
		taskQueue: actors.taskQueue,
		workflowId: workflowIds.reconcile(`test-${crypto.randomUUID()}`),
		args: [],
	});
}

async function createEvent(): Promise<string> {
	const [row] = await db.sql<{ id: string }[]>`
		insert into events (owner_id, title, starts_at, ends_at, capacity)
		values (${owner}, 'e', now() + interval '30 days', now() + interval '30 days 1 hour', 5) returning id`;
	return row!.id;
}

const status = async (workflowId: string) =>
	(await client().workflow.getHandle(workflowId).describe()).status.name;

describe("reconciler", () => {
	test("an actor terminated by hand is restarted by the next reconcile", async () => {
		const eventId = await createEvent();
		const id = eventActorDefinition.workflowId(eventId);
		const bridge = await actors.bridge(db.sql);
		try {
			await eventually(async () => (await status(id).catch(() => undefined)) === "RUNNING", {
				what: "the actor started by the bridge",
			});
		} finally {
			await bridge.stop();
		}
		await client().workflow.getHandle(id).terminate("test: terminated by hand");
		expect(await status(id)).toBe("TERMINATED");

		const { repaired } = await runReconcile();
		expect(repaired["eventActor.started"]).toBeGreaterThanOrEqual(1);
		expect(await status(id)).toBe("RUNNING");
		// The restarted actor read its row: it plans as if it had never stopped.
		const schedule = await eventually(async () => {
			const view = await client().workflow.getHandle(id).query<{ status: string }>("schedule");
			return view.status === "scheduled" ? view : undefined;
		});
		expect(schedule.status).toBe("scheduled");

		const report = await lastReconcile(db.sql);
		expect(report.lastRunAt).not.toBeNull();
		expect(report.repaired["eventActor.started"]).toBeGreaterThanOrEqual(1);
		expect(report.repairedLastDay["eventActor.started"]).toBeGreaterThanOrEqual(1);

		// Nothing left to repair: a second run starts nothing.
		expect((await runReconcile()).repaired["eventActor.started"]).toBe(0);
	}, 60_000);

	test("an actor whose row is gone ends (the delete was never delivered)", async () => {
		const eventId = await createEvent();
		const id = eventActorDefinition.workflowId(eventId);
		const bridge = await actors.bridge(db.sql);
		try {
			// Running is not enough: until the actor has read its row, a delete now would be
			// seen by that first read and the actor would end on its own, with nothing to repair.
			await eventually(
				async () => {
					const view = await client()
						.workflow.getHandle(id)
						.query<{ status: string }>("schedule")
						.catch(() => undefined);
					return view?.status === "scheduled";
				},
				{ what: "the actor read its row" },
			);
		} finally {
			await bridge.stop(); // from here on, no bridge: only the reconciler can tell the actor
		}
		// The reconciler finds running actors through Temporal's visibility, which lags a little.
		await eventually(async () => {
			const query = `WorkflowId = '${id}' AND ExecutionStatus = 'Running'`;
			for await (const _ of client().workflow.list({ query })) return true;
			return false;
		});
		await db.sql`delete from events where id = ${eventId}`;
		const { repaired } = await runReconcile();
		expect(repaired["eventActor.ended"]).toBeGreaterThanOrEqual(1);
		await eventually(async () => (await status(id)) === "COMPLETED", { what: "the actor ended" });
		expect(await client().workflow.getHandle(id).result()).toEqual({ ended: "deleted" });
	}, 60_000);

	test("a notification created with no delivery workflow gets one", async () => {
		// As when a worker dies after the promotion commits and before Temporal records it.
		const [note] = await db.sql<{ id: string }[]>`
			insert into notifications (user_id, kind, title, dedupe_key, created_at)
			values (${owner}, 'waitlist_promoted', 'You are in', ${`lost:${crypto.randomUUID()}`},
				now() - interval '5 minutes')
			returning id`;
		const fresh = await db.sql<{ id: string }[]>`
			insert into notifications (user_id, kind, title, dedupe_key)
			values (${owner}, 'waitlist_promoted', 'Just now', ${`new:${crypto.randomUUID()}`}) returning id`;

		const { repaired } = await runReconcile();
		expect(repaired["deliveries.started"]).toBe(1); // the fresh one is still within its grace period
		const handle = client().workflow.getHandle(workflowIds.delivery(note!.id));
		expect(await handle.result()).toMatchObject({ notificationId: note!.id });
		const [row] = await db.sql`select delivery_planned_at from notifications where id = ${note!.id}`;
		expect(row!.delivery_planned_at).not.toBeNull();
		const [young] = await db.sql`select delivery_planned_at from notifications where id = ${fresh[0]!.id}`;
		expect(young!.delivery_planned_at).toBeNull();

		expect((await runReconcile()).repaired["deliveries.started"]).toBe(0); // planned now: not again
	}, 60_000);

	test("its schedule is registered idempotently and runs every RECONCILE_INTERVAL_SECONDS", async () => {
		const wanted = wantedSchedules({
			taskQueue: actors.taskQueue,
			cleanupCron: "0 2 * * *",
			reconcileIntervalSeconds: 120,
		})
			.filter((s) => s.scheduleId === scheduleIds.reconcile)
			.map((s) => ({ ...s, scheduleId: `${s.scheduleId}-${actors.taskQueue}` }));
		await ensureSchedules(client(), wanted);
		await ensureSchedules(client(), wanted);
		const handle = client().schedule.getHandle(wanted[0]!.scheduleId);
		try {
			const described = await handle.describe();
			expect(described.spec.intervals?.[0]?.every).toBe(120_000);
			expect(described.action).toMatchObject({ type: "startWorkflow", workflowType: "reconcile" });
		} finally {
			await handle.delete();
		}
	});
});
