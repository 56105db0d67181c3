/**
 * Participants: registration (registered, then waitlisted when full),
 * duplicates and closed events, cancellation by self, owner and strangers,
 * the owner's status changes, the caller's registrations, capacity changes
 * and the cascade on event deletion. Races: events-concurrency.test.ts.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { createEventAs, joinEvent } from "./support/events.ts";
import { type Registered, register } from "./support/tokens.ts";

// Every test signs users up (argon2 hashing): slow on a busy machine.
setDefaultTimeout(30_000);

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
const cancel = (eventId: string, participantId: string, user: Registered) =>
	app.request("DELETE", `/api/v1/events/${eventId}/participants/${participantId}`, {
		token: user.accessToken,
	});
const setStatus = (eventId: string, participantId: string, user: Registered, status: string) =>
	app.request("PATCH", `/api/v1/events/${eventId}/participants/${participantId}`, {
		token: user.accessToken,
		body: { status },
	});
const participantStatus = async (id: string) =>
	(await app.db.sql<{ status: string }[]>`select status from participants where id = ${id}`)[0]?.status;
const statusCounts = async (eventId: string) =>
	Object.fromEntries(
		(
			await app.db.sql<{ status: string; n: number }[]>`
				select status, count(*)::int as n from participants where event_id = ${eventId} group by status`
		).map((r) => [r.status, r.n]),
	);

describe("registration", () => {
	test("registered while places are left, then waitlisted; the owner sees the list with names", async () => {
		const owner = await register(app);
		const [a, b, c] = await Promise.all([register(app), register(app), register(app)]);
		const eventId = await createEvent(owner);
		const first = await join(eventId, a!);
		expect(first.status).toBe(201);
		expect(first.body).toMatchObject({ eventId, userId: a!.userId, status: "registered" });
		expect(Object.keys(first.body).sort()).toEqual([
			"createdAt",
			"eventId",
			"id",
			"status",
			"updatedAt",
			"userId",
		]);
		expect(first.body.updatedAt).toBe(first.body.createdAt);
		expect((await join(eventId, b!)).body.status).toBe("registered");
		expect((await join(eventId, c!)).body.status).toBe("waitlisted");
		expect(await statusCounts(eventId)).toEqual({ registered: 2, waitlisted: 1 });

		const list = await app.request("GET", `/api/v1/events/${eventId}/participants`, {
			token: owner.accessToken,
		});
		expect(list.status).toBe(200);
		expect(list.body.total).toBe(3);
		expect(list.body.items.map((p: { userId: string }) => p.userId)).toEqual([
			a!.userId,
			b!.userId,
			c!.userId,
		]);
		expect(list.body.items[0].displayName).toBe("Tester");
		const waiting = await app.request(
			"GET",
			`/api/v1/events/${eventId}/participants?status=waitlisted&limit=1`,
			{
				token: owner.accessToken,
			},
		);
		expect(waiting.body).toMatchObject({ total: 1, items: [{ userId: c!.userId, status: "waitlisted" }] });
		const paged = await app.request("GET", `/api/v1/events/${eventId}/participants?limit=1&offset=1`, {
			token: owner.accessToken,
		});
		expect(paged.body.items.map((p: { userId: string }) => p.userId)).toEqual([b!.userId]);
	});

	test("a second live registration is 409; after cancelling, registering again makes a new row", async () => {
		const owner = await register(app);
		const a = await register(app);
		const eventId = await createEvent(owner);
		const first = await join(eventId, a);
		const twice = await join(eventId, a);
		expect(twice.status).toBe(409);
		expect(twice.body.error.code).toBe("conflict");
		expect(await statusCounts(eventId)).toEqual({ registered: 1 });
		expect((await cancel(eventId, first.body.id, a)).status).toBe(204);
		const again = await join(eventId, a);
		expect(again.status).toBe(201);
		expect(again.body.id).not.toBe(first.body.id);
		expect(await statusCounts(eventId)).toEqual({ registered: 1, cancelled: 1 });
	});

	test("unknown, cancelled and already started events", async () => {
		const owner = await register(app);
		const a = await register(app);
		expect((await join(crypto.randomUUID(), a)).status).toBe(404);

		const cancelled = await createEvent(owner);
		await app.request("PATCH", `/api/v1/events/${cancelled}`, {
			token: owner.accessToken,
			body: { status: "cancelled" },
		});
		expect((await join(cancelled, a)).status).toBe(409);

		const started = await createEvent(owner);
		await app.db.sql`
			update events set starts_at = now() - interval '1 minute', ends_at = now() + interval '1 hour'
			where id = ${started}`;
		expect((await join(started, a)).status).toBe(409);
		expect(await statusCounts(cancelled)).toEqual({});
		expect(await statusCounts(started)).toEqual({});
	});
});

describe("cancellation and status changes", () => {
	test("cancel by the participant, by the owner; a stranger gets 404; repeating is idempotent", async () => {
		const owner = await register(app);
		const [a, b, stranger] = await Promise.all([register(app), register(app), register(app)]);
		const eventId = await createEvent(owner);
		const pa = (await join(eventId, a!)).body.id as string;
		const pb = (await join(eventId, b!)).body.id as string;

		const denied = await cancel(eventId, pa, stranger!);
		expect(denied.status).toBe(404);
		expect((await cancel(eventId, pa, b!)).status).toBe(404);
		expect(await participantStatus(pa)).toBe("registered");

		expect((await cancel(eventId, pa, a!)).status).toBe(204);
		expect(await participantStatus(pa)).toBe("cancelled");
		const outbox = await app.db.sql`select id from outbox where row_id = ${pa}`;
		expect((await cancel(eventId, pa, a!)).status).toBe(204);
		expect(await app.db.sql`select id from outbox where row_id = ${pa}`).toEqual(outbox);

		expect((await cancel(eventId, pb, owner)).status).toBe(204);
		expect(await participantStatus(pb)).toBe("cancelled");
		expect(await statusCounts(eventId)).toEqual({ cancelled: 2 });

		// The participant id under another event's id is not found.
		const other = await createEvent(owner);
		const pc = (await join(other, a!)).body.id as string;
		expect((await cancel(eventId, pc, owner)).status).toBe(404);
		expect(await participantStatus(pc)).toBe("registered");
	});

	test("owner confirms and records attendance; other transitions are 409; non-owners 404", async () => {
		const owner = await register(app);
		const [a, b, c] = await Promise.all([register(app), register(app), register(app)]);
		const eventId = await createEvent(owner, { capacity: 2 });
		const pa = (await join(eventId, a!)).body.id as string;
		const pb = (await join(eventId, b!)).body.id as string;
		const pc = (await join(eventId, c!)).body.id as string; // waitlisted

		expect((await setStatus(eventId, pa, a!, "confirmed")).status).toBe(404);
		expect((await setStatus(eventId, pa, c!, "confirmed")).status).toBe(404);
		expect(await participantStatus(pa)).toBe("registered");

		const confirmed = await setStatus(eventId, pa, owner, "confirmed");
		expect(confirmed.status).toBe(200);
		expect(confirmed.body).toMatchObject({ id: pa, status: "confirmed" });
		expect((await setStatus(eventId, pa, owner, "confirmed")).status).toBe(200);
		expect((await setStatus(eventId, pa, owner, "attended")).body.status).toBe("attended");
		expect((await setStatus(eventId, pb, owner, "attended")).body.status).toBe("attended");

		for (const [id, status] of [
			[pa, "confirmed"],
			[pa, "attended"],
			[pc, "confirmed"],
			[pc, "attended"],
		] as const) {
			const res = await setStatus(eventId, id, owner, status);
			expect({ id, status, code: res.status }).toEqual({ id, status, code: 409 });
		}
		expect((await cancel(eventId, pa, a!)).status).toBe(409);
		expect((await cancel(eventId, pc, c!)).status).toBe(204);
		expect((await setStatus(eventId, pc, owner, "confirmed")).status).toBe(409);
		expect((await setStatus(eventId, pa, owner, "cancelled")).status).toBe(422);
		expect(await statusCounts(eventId)).toEqual({ attended: 2, cancelled: 1 });
	});
});

describe("capacity, registrations and deletion", () => {
	test("capacity cannot drop below registered + confirmed (409); waitlisted do not count", async () => {
		const owner = await register(app);
		const users = await Promise.all([register(app), register(app), register(app), register(app)]);
		const eventId = await createEvent(owner, { capacity: 3 });
		const ids: string[] = [];
		for (const u of users) ids.push((await join(eventId, u)).body.id);
		await setStatus(eventId, ids[0]!, owner, "confirmed");
		const patch = (capacity: number) =>
			app.request("PATCH", `/api/v1/events/${eventId}`, { token: owner.accessToken, body: { capacity } });
		const before = (await app.db.sql`select * from events where id = ${eventId}`)[0];
		const low = await patch(2);
		expect(low.status).toBe(409);
		expect(low.body.error.details).toMatchObject({ field: "capacity", placesTaken: 3 });
		expect((await app.db.sql`select * from events where id = ${eventId}`)[0]).toEqual(before);
		expect((await patch(3)).status).toBe(200);
		expect((await cancel(eventId, ids[1]!, users[1]!)).status).toBe(204);
		expect((await patch(2)).body.capacity).toBe(2);
		// No promotion here: the waitlisted participant stays waitlisted (the event actor promotes).
		expect(await participantStatus(ids[3]!)).toBe("waitlisted");
	});

	test("GET /registrations lists only the caller's rows, newest first, with the event summary", async () => {
		const owner = await register(app);
		const [a, b] = await Promise.all([register(app), register(app)]);
		const e1 = await createEvent(owner, { title: "First" });
		const e2 = await createEvent(owner, { title: "Second", capacity: 1 });
		const r1 = (await join(e1, a!)).body.id;
		await join(e2, b!);
		const r2 = (await join(e2, a!)).body.id;
		const res = await app.request("GET", "/api/v1/registrations", { token: a!.accessToken });
		expect(res.status).toBe(200);
		expect(res.body.total).toBe(2);
		expect(res.body.items.map((r: { id: string }) => r.id)).toEqual([r2, r1]);
		expect(res.body.items[0]).toMatchObject({
			eventId: e2,
			userId: a!.userId,
			status: "waitlisted",
			event: { id: e2, title: "Second", status: "scheduled" },
		});
		expect(res.body.items[0].event.startsAt).toMatch(/Z$/);
		const paged = await app.request("GET", "/api/v1/registrations?limit=1&offset=1", {
			token: a!.accessToken,
		});
		expect(paged.body.items.map((r: { id: string }) => r.id)).toEqual([r1]);
		const none = await app.request("GET", "/api/v1/registrations", { token: owner.accessToken });
		expect(none.body).toEqual({ items: [], total: 0 });
		expect((await app.request("GET", "/api/v1/registrations")).status).toBe(401);
	});

	test("deleting an event removes its participants", async () => {
		const owner = await register(app);
		const [a, b] = await Promise.all([register(app), register(app)]);
		const eventId = await createEvent(owner, { capacity: 1 });
		await join(eventId, a!);
		await join(eventId, b!);
		expect((await app.request("DELETE", `/api/v1/events/${eventId}`, { token: a!.accessToken })).status).toBe(
			404,
		);
		expect(await statusCounts(eventId)).toEqual({ registered: 1, waitlisted: 1 });
		expect(
			(await app.request("DELETE", `/api/v1/events/${eventId}`, { token: owner.accessToken })).status,
		).toBe(204);
		expect((await app.db.sql`select 1 from events where id = ${eventId}`).length).toBe(0);
		expect(await statusCounts(eventId)).toEqual({});
		expect((await app.request("GET", `/api/v1/events/${eventId}`, { token: owner.accessToken })).status).toBe(
			404,
		);
		expect((await app.request("GET", "/api/v1/registrations", { token: a!.accessToken })).body.total).toBe(0);
		const deletes = await app.db.sql<{ table_name: string; n: number }[]>`
			select table_name, count(*)::int as n from outbox
			where entity_key = ${eventId} and operation = 'DELETE' group by table_name order by table_name`;
		expect([...deletes]).toEqual([
			{ table_name: "events", n: 1 },
			{ table_name: "participants", n: 2 },
		]);
	});
});
