/**
 * Registration under concurrency: the event row lock makes count-then-insert
 * atomic, so capacity holds however many requests arrive at once, and one
 * user cannot hold two live registrations.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createSql } from "../src/infra/db/sql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { createEventAs, joinEvent } from "./support/events.ts";
import { type Registered, register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

// 20+ sign-ups (argon2 hashing) per test: slow on a busy machine.
setDefaultTimeout(60_000);

let app: TestApp;
beforeAll(async () => {
	app = await startTestApp();
});
afterAll(async () => {
	await app.stop();
});

const createEvent = async (owner: Registered, overrides: Record<string, unknown> = {}) =>
	(await createEventAs(app, owner.accessToken, { title: "Workshop", capacity: 2, ...overrides })).id;

const join = (eventId: string, user: Registered) => joinEvent(app, eventId, user.accessToken);
const statusCounts = async (eventId: string) =>
	Object.fromEntries(
		(
			await app.db.sql<{ status: string; n: number }[]>`
				select status, count(*)::int as n from participants where event_id = ${eventId} group by status`
		).map((r) => [r.status, r.n]),
	);

describe("concurrent registrations", () => {
	test("20 concurrent registrations on capacity 5: exactly 5 registered, 15 waitlisted", async () => {
		const owner = await register(app);
		const users = await Promise.all(Array.from({ length: 20 }, () => register(app)));
		const eventId = await createEvent(owner, { capacity: 5 });
		const results = await Promise.all(users.map((u) => join(eventId, u)));
		expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
		const statuses = results.map((r) => r.body.status as string);
		expect(statuses.filter((s) => s === "registered").length).toBe(5);
		expect(await statusCounts(eventId)).toEqual({ registered: 5, waitlisted: 15 });
		// Registration order (created_at) agrees with the decisions: the first five hold the places.
		const [first] = await app.db.sql<{ n: number }[]>`
			select count(*)::int as n from (
				select status from participants where event_id = ${eventId} order by created_at, id limit 5) p
			where status = 'registered'`;
		expect(first!.n).toBe(5);
	});
	test("the event row lock closes the count-then-insert race (forced with a held lock)", async () => {
		const owner = await register(app);
		const early = await Promise.all(Array.from({ length: 4 }, () => register(app)));
		const late = await Promise.all(Array.from({ length: 8 }, () => register(app)));
		const eventId = await createEvent(owner, { capacity: 5 });
		for (const u of early) expect((await join(eventId, u)).body.status).toBe("registered");
		// A separate connection holds the row so that every registration queues up
		// inside its transaction; released, they must still see each other's inserts.
		const side = createSql(app.db.url, { max: 2 });
		try {
			const gate = await side.reserve();
			await gate`begin`;
			await gate`select 1 from events where id = ${eventId} for update`;
			const pending = Promise.all(late.map((u) => join(eventId, u)));
			await eventually(
				async () => {
					const [row] = await side<{ n: number }[]>`
						select count(*)::int as n from pg_stat_activity
						where datname = current_database() and wait_event_type = 'Lock'`;
					return row!.n >= 3;
				},
				{ what: "registrations waiting on the event row" },
			);
			await gate`commit`;
			gate.release();
			const results = await pending;
			expect(results.map((r) => r.status)).toEqual(Array(8).fill(201));
		} finally {
			await side.end();
		}
		expect(await statusCounts(eventId)).toEqual({ registered: 5, waitlisted: 7 });
	});

	test("the same user registering twice at once: one 201, one 409", async () => {
		const owner = await register(app);
		const a = await register(app);
		const eventId = await createEvent(owner);
		const results = await Promise.all([join(eventId, a), join(eventId, a), join(eventId, a)]);
		expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
		expect(await statusCounts(eventId)).toEqual({ registered: 1 });
	});
});
