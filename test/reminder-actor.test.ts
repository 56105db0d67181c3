/**
 * The reminder actor on Temporal's time-skipping test server, driven through
 * the outbox and the notify bridge from real rows in PostgreSQL: months pass
 * in seconds and every timer fires at its planned instant. Wall-clock
 * correctness across both DST changes in Europe/Berlin, snooze, a reschedule
 * into the past, cancel and delete, a profile time-zone change, and the
 * missed summary after the worker was down.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { CreateReminderBody } from "../src/reminders/model.ts";
import { createReminderService } from "../src/reminders/service.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { type SkippingRig, timeSkippingRig } from "./support/time-skipping.ts";
import { eventually } from "./support/wait.ts";

let db: TestDatabase;
let rig: SkippingRig;
let reminders: ReturnType<typeof createReminderService>;

beforeAll(async () => {
	db = await freshDatabase();
	rig = await timeSkippingRig(db.sql);
	reminders = createReminderService({ sql: db.sql });
});

afterAll(async () => {
	await rig?.stop();
	await db?.drop();
});

async function user(timezone = "UTC"): Promise<string> {
	const [row] = await db.sql`insert into users (email, display_name, timezone)
		values (${`${crypto.randomUUID()}@example.com`}, 'R', ${timezone}) returning id`;
	return row!.id;
}

interface Sent {
	kind: string;
	dedupe_key: string;
	data: { firedAt: string; scheduledAt?: string; local?: string; count?: number; firings?: string[] };
}

const sent = (reminderId: string) =>
	db.sql<Sent[]>`
		select kind, dedupe_key, data from notifications
		where data->>'reminderId' = ${reminderId} order by (data->>'firedAt'), dedupe_key`;

const row = async (id: string) =>
	(
		await db.sql<{ next_fire_at: Date | null; status: string }[]>`
		select next_fire_at, status from reminders where id = ${id}`
	)[0]!;

/** Waits until the actor has planned (its activity wrote next_fire_at). */
const planned = (id: string, iso: string) =>
	eventually(async () => (await row(id)).next_fire_at?.toISOString() === iso, {
		what: `reminder ${id} planned for ${iso}`,
	});

const create = async (owner: string, body: Omit<CreateReminderBody, "title">) =>
	(await reminders.create(owner, { title: "Pay back Anna", ...body })).id;

/**
 * The actor's result once it has closed. Polled rather than awaited: a `result()` that waits
 * unlocks the test server's clock while signals are still on their way.
 */
async function ended(id: string): Promise<unknown> {
	const handle = rig.env.client.workflow.getHandle(`reminder:${id}`);
	await eventually(async () => (await handle.describe()).status.name !== "RUNNING", {
		what: `reminder:${id} to end`,
	});
	return handle.result();
}

/** The server's clock must start before the instants these tests name. */
const YEAR = new Date().getUTCFullYear() + 1;

describe("wall-clock correctness (Europe/Berlin) on the time-skipping server", () => {
	test("daily 09:00 fires 08:00Z before spring, 07:00Z after; 08:00Z after autumn; 02:30 cases", async () => {
		const owner = await user();
		const spring = await create(owner, {
			dueAt: `${YEAR}-03-27T09:00`,
			timeZone: "Europe/Berlin",
			rrule: "FREQ=DAILY;COUNT=3",
		});
		const autumn = await create(owner, {
			dueAt: `${YEAR}-10-30T09:00`,
			timeZone: "Europe/Berlin",
			rrule: "FREQ=DAILY;COUNT=3",
		});
		const gap = await create(owner, { dueAt: `${YEAR}-03-28T02:30`, timeZone: "Europe/Berlin" });
		const twice = await create(owner, {
			dueAt: `${YEAR}-10-30T02:30`,
			timeZone: "Europe/Berlin",
			rrule: "FREQ=DAILY;COUNT=3",
		});
		await planned(spring, `${YEAR}-03-27T08:00:00.000Z`);
		await planned(twice, `${YEAR}-10-30T00:30:00.000Z`);
		await rig.skipTo(`${YEAR}-11-02T00:00:00Z`);
		const firedAt = async (id: string, n: number) => {
			const rows = await eventually(
				async () => {
					const r = await sent(id);
					return r.length >= n ? r : undefined;
				},
				{ what: `${n} notifications of ${id}` },
			);
			expect(rows).toHaveLength(n);
			for (const r of rows)
				expect(Math.abs(Date.parse(r.data.firedAt) - Date.parse(r.data.scheduledAt!))).toBeLessThan(1000);
			return rows.map((r) => r.data.scheduledAt);
		};
		expect(await firedAt(spring, 3)).toEqual([
			`${YEAR}-03-27T08:00:00.000Z`,
			`${YEAR}-03-28T07:00:00.000Z`,
			`${YEAR}-03-29T07:00:00.000Z`,
		]);
		expect(await firedAt(autumn, 3)).toEqual([
			`${YEAR}-10-30T07:00:00.000Z`,
			`${YEAR}-10-31T08:00:00.000Z`,
			`${YEAR}-11-01T08:00:00.000Z`,
		]);
		expect(await firedAt(gap, 1)).toEqual([`${YEAR}-03-28T01:30:00.000Z`]); // 03:30 CEST
		expect((await sent(gap))[0]!.data.local).toBe(`${YEAR}-03-28T03:30:00+02:00`);
		// The 02:30 that exists twice fires once (the first, CEST), and the series goes on.
		expect(await firedAt(twice, 3)).toEqual([
			`${YEAR}-10-30T00:30:00.000Z`,
			`${YEAR}-10-31T00:30:00.000Z`,
			`${YEAR}-11-01T01:30:00.000Z`,
		]);
		for (const id of [spring, autumn, gap, twice]) {
			expect((await row(id)).status).toBe("completed"); // the series is over
			expect(await ended(id)).toEqual({
				ended: "completed",
			});
		}
		expect((await sent(spring)).map((r) => r.dedupe_key)).toEqual([
			`reminder:${spring}:${YEAR}-03-27T09:00:00`,
			`reminder:${spring}:${YEAR}-03-28T09:00:00`,
			`reminder:${spring}:${YEAR}-03-29T09:00:00`,
		]);
	}, 120_000);
});

describe("moving and stopping the timer", () => {
	test("snooze moves only the pending occurrence; the series keeps its schedule", async () => {
		const owner = await user("Europe/Berlin");
		const now = await rig.env.currentTimeMs();
		const day = new Date(now + 2 * 86_400_000).toISOString().slice(0, 10);
		const id = await create(owner, { dueAt: `${day}T09:00`, rrule: "FREQ=DAILY;COUNT=3" }); // floating
		const first = (await reminders.preview(owner, id, 3)).items.map((i) => i.fireAt);
		await planned(id, first[0]!);
		const until = new Date(Date.parse(first[0]!) + 3 * 3_600_000).toISOString();
		const snoozed = await reminders.snooze(owner, id, { until });
		expect(snoozed.snoozedUntil).toBe(until);
		await planned(id, until);
		expect((await reminders.preview(owner, id, 3)).items.map((i) => [i.fireAt, i.snoozed])).toEqual([
			[until, true],
			[first[1]!, false],
			[first[2]!, false],
		]);
		await rig.skipTo(new Date(Date.parse(first[2]!) + 60_000).toISOString());
		const rows = await eventually(async () => ((r) => (r.length === 3 ? r : undefined))(await sent(id)));
		expect(rows.map((r) => Date.parse(r.data.firedAt) - Date.parse(rows[0]!.data.firedAt) >= 0)).toEqual([
			true,
			true,
			true,
		]);
		const fired = rows.map((r) => r.data.firedAt);
		expect(fired.map((f) => Math.round(Date.parse(f) / 1000))).toEqual(
			[until, first[1]!, first[2]!].map((f) => Math.round(Date.parse(f) / 1000)),
		);
	}, 60_000);

	test("a reschedule into the past fires at once", async () => {
		const owner = await user();
		const now = await rig.env.currentTimeMs();
		const later = new Date(now + 5 * 86_400_000).toISOString().slice(0, 16);
		const id = await create(owner, { dueAt: later, timeZone: "UTC" });
		await planned(id, `${later}:00.000Z`);
		const earlier = new Date(now - 86_400_000).toISOString().slice(0, 16);
		await reminders.update(owner, id, { dueAt: earlier });
		const [n] = await eventually(async () => ((r) => (r.length ? r : undefined))(await sent(id)));
		expect(n!.kind).toBe("reminder");
		expect(n!.data.scheduledAt).toBe(`${earlier}:00.000Z`);
		expect(Date.parse(n!.data.firedAt) - now).toBeLessThan(60_000); // at once, not at the old time
		expect(await ended(id)).toEqual({
			ended: "completed",
		});
	}, 60_000);

	test("cancel and delete stop the timer: nothing is delivered", async () => {
		const owner = await user();
		const now = await rig.env.currentTimeMs();
		const at = new Date(now + 86_400_000).toISOString().slice(0, 16);
		const cancelled = await create(owner, { dueAt: at, timeZone: "UTC" });
		const deleted = await create(owner, { dueAt: at, timeZone: "UTC", rrule: "FREQ=DAILY" });
		await planned(cancelled, `${at}:00.000Z`);
		await planned(deleted, `${at}:00.000Z`);
		await reminders.update(owner, cancelled, { status: "cancelled" });
		await reminders.remove(owner, deleted);
		expect(await ended(cancelled)).toEqual({
			ended: "cancelled",
		});
		expect(await ended(deleted)).toEqual({
			ended: "deleted",
		});
		await rig.skipTo(new Date(now + 3 * 86_400_000).toISOString());
		expect(await sent(cancelled)).toHaveLength(0);
		expect(await sent(deleted)).toHaveLength(0);
	}, 60_000);

	test("a new profile time zone re-plans every floating reminder, and only those", async () => {
		const owner = await user("Europe/Berlin");
		const now = await rig.env.currentTimeMs();
		const day = new Date(now + 2 * 86_400_000).toISOString().slice(0, 10);
		const a = await create(owner, { dueAt: `${day}T09:00`, rrule: "FREQ=DAILY" });
		const b = await create(owner, { dueAt: `${day}T18:30` });
		const pinned = await create(owner, { dueAt: `${day}T09:00`, timeZone: "Europe/Berlin" });
		const berlin = (await reminders.preview(owner, a, 1)).items[0]!.fireAt;
		await planned(a, berlin);
		await planned(pinned, berlin);
		await db.sql`update users set timezone = 'America/New_York' where id = ${owner}`;
		const ny = (wall: string) =>
			new Date(
				Date.parse(`${day}T${wall}:00Z`) + 5 * 3_600_000 - (isNewYorkDst(day) ? 3_600_000 : 0),
			).toISOString();
		await planned(a, ny("09:00"));
		await planned(b, ny("18:30"));
		expect((await row(pinned)).next_fire_at?.toISOString()).toBe(berlin);
		expect((await reminders.preview(owner, a, 1)).items[0]).toMatchObject({
			fireAt: ny("09:00"),
			local: expect.stringMatching(/T09:00:00-0[45]:00$/),
		});
		await rig.skipTo(new Date(Date.parse(ny("18:30")) + 60_000).toISOString());
		const [fired] = await eventually(async () => ((r) => (r.length ? r : undefined))(await sent(b)));
		expect(fired!.data.scheduledAt).toBe(ny("18:30"));
	}, 60_000);
});

const isNewYorkDst = (day: string) =>
	new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", timeZoneName: "short" })
		.format(new Date(`${day}T12:00:00Z`))
		.endsWith("EDT");

describe("long series", () => {
	test("an hourly series continues-as-new: each run's history stays bounded", async () => {
		const owner = await user();
		const now = await rig.env.currentTimeMs();
		const start = new Date(now + 3_600_000).toISOString().slice(0, 13);
		const id = await create(owner, { dueAt: `${start}:00`, timeZone: "UTC", rrule: "FREQ=HOURLY;COUNT=420" });
		await planned(id, `${start}:00:00.000Z`);
		await rig.skipTo(new Date(Date.parse(`${start}:00:00Z`) + 420 * 3_600_000).toISOString());
		expect(await ended(id)).toEqual({ ended: "completed" });
		const handle = rig.env.client.workflow.getHandle(`reminder:${id}`);
		const last = await handle.fetchHistory();
		const first = last.events![0]!.workflowExecutionStartedEventAttributes!;
		expect(first.continuedExecutionRunId).toBeTruthy(); // the run that ended is not the first
		expect(last.events!.length).toBeLessThan(4200);
		expect(await sent(id)).toHaveLength(420);
	}, 120_000);
});

describe("downtime", () => {
	/**
	 * The actor wakes four days and five hours after the first of four firings it slept through:
	 * the row is as the actor left it before the outage (planned, cursor at the last firing sent),
	 * and the actor first runs now, as it does when a worker comes back. (Stopping the test
	 * server's only worker would stall its clock: an undispatched workflow task holds time.)
	 */
	test("more than an hour late: one missed summary of the skipped occurrences, then the next one", async () => {
		const owner = await user();
		const now = await rig.env.currentTimeMs();
		const day0 = Date.parse(`${new Date(now - 5 * 86_400_000).toISOString().slice(0, 10)}T09:00:00Z`);
		const [r] = await db.sql`
			insert into reminders (owner_id, title, local_start, time_zone, rrule, planned_from, fired_through)
			values (${owner}, 'Rent', ${new Date(day0).toISOString().slice(0, 19)}::timestamp, 'UTC', 'FREQ=DAILY',
				${new Date(day0 - 86_400_000)}, ${new Date(day0)})
			returning id`;
		const id = r!.id as string;
		const skipped = [1, 2, 3, 4].map((d) => day0 + d * 86_400_000).filter((t) => t < now - 3_600_000);
		const rows = await eventually(async () => ((r) => (r.length ? r : undefined))(await sent(id)), {
			what: "the missed summary",
		});
		expect(rows).toHaveLength(1);
		expect(rows[0]!.kind).toBe("reminder_missed");
		expect(rows[0]!.data.count).toBe(skipped.length + (now - (day0 + 5 * 86_400_000) > 3_600_000 ? 1 : 0));
		const next = (
			await db.sql<{ next_fire_at: Date }[]>`select next_fire_at from reminders where id = ${id}`
		)[0]!.next_fire_at;
		expect(next.getTime()).toBeGreaterThan(now); // no burst: it waits for the next future occurrence
		await rig.skipTo(new Date(next.getTime() + 60_000).toISOString());
		const after = await eventually(async () => ((r) => (r.length === 2 ? r : undefined))(await sent(id)));
		expect(after.map((r) => r.kind)).toEqual(["reminder_missed", "reminder"]);
		expect(after[1]!.data.scheduledAt).toBe(next.toISOString());
		await reminders.update(owner, id, { status: "cancelled" });
	}, 60_000);
});
