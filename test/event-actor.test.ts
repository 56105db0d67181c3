/**
 * The event actor end to end: real PostgreSQL, Temporal dev server, Bun
 * worker and the notify bridge. Reminders land in the inbox at their planned
 * time, follow the event when it moves, vanish when it is cancelled; freed
 * places go to the waitlist without ever exceeding capacity.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createEventActivities } from "../activities/events/index.ts";
import type { BridgeHandle } from "../src/bridge/bridge.ts";
import type { EventActorState, ScheduleView } from "../workflows/event.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { eventually } from "./support/wait.ts";

let db: TestDatabase;
let actors: Actors;
let bridge: BridgeHandle;

beforeAll(async () => {
	db = await freshDatabase();
	actors = await startActors(db.sql, "actor");
	bridge = await actors.bridge(db.sql, 5000);
});

afterAll(async () => {
	await bridge.stop();
	await actors.stop();
	await db.drop();
});

async function user(name: string): Promise<string> {
	const [row] = await db.sql`insert into users (email, display_name)
		values (${`${name}-${crypto.randomUUID()}@example.com`}, ${name}) returning id`;
	return row!.id;
}

async function event(
	owner: string,
	startsInMs: number,
	options: { capacity?: number; offsets?: number[] } = {},
) {
	const startsAt = new Date(Date.now() + startsInMs);
	const [row] = await db.sql`
		insert into events (owner_id, title, starts_at, ends_at, capacity, reminder_offsets)
		values (${owner}, 'Standup', ${startsAt}, ${new Date(startsAt.getTime() + 3600_000)},
			${options.capacity ?? 10}, ${options.offsets ?? [86_400, 3600]})
		returning id`;
	return { id: row!.id as string, startsAt };
}

async function register(eventId: string, userId: string, status = "registered"): Promise<string> {
	const [row] = await db.sql`insert into participants (event_id, user_id, status)
		values (${eventId}, ${userId}, ${status}) returning id`;
	return row!.id;
}

const schedule = (eventId: string) =>
	actors.temporal.client.workflow.getHandle(`event:${eventId}`).query<ScheduleView>("schedule");

const reminders = (userId: string) =>
	db.sql<{ created_at: Date; data: Record<string, string> }[]>`
		select created_at, data from notifications where user_id = ${userId} and kind = 'event_reminder'`;

describe("event actor", () => {
	test("a short-offset reminder arrives at its planned time, never early", async () => {
		const owner = await user("owner");
		const guest = await user("guest");
		const e = await event(owner, 6_000, { offsets: [3] });
		await register(e.id, guest);
		const planned = e.startsAt.getTime() - 3_000;
		const view = await eventually(async () => {
			const s = await schedule(e.id);
			return s.reminders.length === 1 ? s : undefined;
		});
		expect(view.reminders[0]).toMatchObject({
			userId: guest,
			offsetSeconds: 3,
			fireAt: new Date(planned).toISOString(),
		});
		const row = await eventually(async () => (await reminders(guest))[0]);
		expect(row.data.eventId).toBe(e.id);
		// Never before its time; how late it is on a busy machine is measured in bench/, not here
		// (the bound only says it came from its own timer, not from some later sweep).
		expect(row.created_at.getTime()).toBeGreaterThanOrEqual(planned - 50);
		expect(row.created_at.getTime() - planned).toBeLessThan(15_000);
		expect((await schedule(e.id)).reminders).toEqual([]);
	}, 30_000);

	test("an event that is over ends its actor; nobody is promoted into an event that has started", async () => {
		const owner = await user("owner");
		const [row] = await db.sql`
			insert into events (owner_id, title, starts_at, ends_at, capacity)
			values (${owner}, 'Short', now() + interval '1 second', now() + interval '2 seconds', 1) returning id`;
		const handle = actors.temporal.client.workflow.getHandle(`event:${row!.id}`);
		await eventually(() => handle.describe(), { what: "the actor started by the bridge" });
		// Nothing to remind of (all offsets lie before the start): the actor waits for the end, then ends.
		expect(await handle.result()).toEqual({ ended: "finished" });
		await register(row!.id, await user("late"), "waitlisted");
		expect(await createEventActivities({ sql: db.sql }).promoteWaitlisted(row!.id)).toEqual([]);
	}, 30_000);

	test("moving the event moves its reminder; cancelling removes it and ends the actor", async () => {
		const owner = await user("owner");
		const guest = await user("guest");
		const e = await event(owner, 3600_000, { offsets: [1800] });
		await register(e.id, guest);
		await eventually(async () => (await schedule(e.id)).reminders.length === 1);
		const later = new Date(e.startsAt.getTime() + 7200_000);
		await db.sql`update events set starts_at = ${later}, ends_at = ${new Date(later.getTime() + 3600_000)}
			where id = ${e.id}`;
		const moved = await eventually(async () => {
			const s = await schedule(e.id);
			return s.reminders[0]?.fireAt === new Date(later.getTime() - 1800_000).toISOString() ? s : undefined;
		});
		expect(moved.reminders).toHaveLength(1);
		await db.sql`update events set status = 'cancelled' where id = ${e.id}`;
		const handle = actors.temporal.client.workflow.getHandle(`event:${e.id}`);
		expect(await handle.result()).toEqual({ ended: "cancelled" });
		expect(await reminders(guest)).toHaveLength(0);
	}, 30_000);

	test("a deleted event ends its actor", async () => {
		const owner = await user("owner");
		const e = await event(owner, 3600_000);
		await eventually(async () => (await schedule(e.id)).status === "scheduled");
		await db.sql`delete from events where id = ${e.id}`;
		expect(await actors.temporal.client.workflow.getHandle(`event:${e.id}`).result()).toEqual({
			ended: "deleted",
		});
	}, 30_000);

	test("concurrent cancellations on a full event promote exactly as many waitlisted as places freed", async () => {
		const owner = await user("owner");
		const e = await event(owner, 3600_000, { capacity: 5 });
		const placed = [];
		for (let i = 0; i < 5; i++) placed.push(await register(e.id, await user(`p${i}`)));
		const waiting = [];
		for (let i = 0; i < 10; i++) waiting.push(await register(e.id, await user(`w${i}`), "waitlisted"));
		await Promise.all(
			placed.slice(0, 3).map((id) => db.sql`update participants set status = 'cancelled' where id = ${id}`),
		);
		// And the promotion activity racing itself, as retries or a second worker would.
		const activities = createEventActivities({ sql: db.sql });
		await Promise.all([0, 1, 2, 3].map(() => activities.promoteWaitlisted(e.id)));
		const counts = async () => {
			const rows = await db.sql<{ status: string; n: number }[]>`
				select status, count(*)::int as n from participants where event_id = ${e.id} group by status`;
			return Object.fromEntries(rows.map((r) => [r.status, r.n]));
		};
		await eventually(async () => (await counts()).registered === 5);
		await eventually(async () => (await bridge.drain()) === 0 && (await counts()).registered === 5);
		expect(await counts()).toEqual({ registered: 5, waitlisted: 7, cancelled: 3 });
		const promoted = await db.sql<{ id: string }[]>`
			select id from participants where event_id = ${e.id} and status = 'registered' and id = any(${waiting})`;
		expect(promoted.map((p) => p.id).sort()).toEqual(waiting.slice(0, 3).sort()); // oldest first
		const notes = await db.sql`select count(*)::int as n from notifications where kind = 'waitlist_promoted'
			and data->>'eventId' = ${e.id}`;
		expect(notes[0]!.n).toBe(3);
	}, 30_000);

	test("the actor continues-as-new with its state when history grows", async () => {
		const owner = await user("owner");
		await bridge.stop(); // so that this test starts the actor itself, with a small history limit
		const e = await event(owner, 3600_000);
		const handle = await actors.temporal.client.workflow.start("eventActor", {
			workflowId: `event:${e.id}`,
			taskQueue: actors.taskQueue,
			args: [{ entityKey: e.id, historyLimit: 40 }],
		});
		bridge = await actors.bridge(db.sql, 5000);
		// One signal per change (the bridge would otherwise coalesce them into a few).
		for (let i = 0; i < 30; i++) {
			await db.sql`update events set title = ${`t${i}`} where id = ${e.id}`;
			await bridge.drain();
		}
		const [last] =
			await db.sql`select max(id)::int as id, count(*)::int as n from outbox where entity_key = ${e.id}`;
		const stats = await eventually(async () => {
			const s = await actors.temporal.client.workflow
				.getHandle(`event:${e.id}`)
				.query<EventActorState>("stats");
			return s.lastOutboxId === last!.id ? s : undefined;
		});
		expect(stats).toMatchObject({ applied: last!.n, ignored: 0 });
		const current = await actors.temporal.client.workflow.getHandle(`event:${e.id}`).describe();
		expect(current.runId).not.toBe(handle.firstExecutionRunId);
	}, 30_000);
});
