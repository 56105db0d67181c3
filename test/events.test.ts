/**
 * Events: create, list with filters and pages, validation (422 with the
 * field, nothing written), owner-only changes (404 for everyone else) and
 * visibility for participants. Outbox and NOTIFY: events-outbox.test.ts.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { at, createEventAs } from "./support/events.ts";
import { register } from "./support/tokens.ts";

// Every test signs users up (argon2 hashing): slow on a busy machine.
setDefaultTimeout(30_000);

let app: TestApp;
beforeAll(async () => {
	app = await startTestApp();
});
afterAll(async () => {
	await app.stop();
});

const newEvent = (overrides: Record<string, unknown> = {}) => ({
	title: "Meetup",
	startsAt: at(24),
	endsAt: at(26),
	capacity: 10,
	...overrides,
});

const createEvent = (token: string, overrides: Record<string, unknown> = {}) =>
	createEventAs(app, token, newEvent(overrides));

/** The field(s) a 422 names: `details.field` from the service, issue paths from the schema. */
function fieldsOf(res: { body: any }): string[] {
	const details = res.body?.error?.details;
	if (details?.field) return [details.field];
	return (details?.issues ?? []).map((i: { path: string }) => i.path.split("/")[1] ?? "");
}

const eventRow = async (id: string) => (await app.db.sql`select * from events where id = ${id}`)[0];
const counts = async () =>
	(
		await app.db.sql<{ events: number; outbox: number }[]>`
			select (select count(*)::int from events) as events, (select count(*)::int from outbox) as outbox`
	)[0]!;
const outboxFor = async (entityKey: string) => [
	...(await app.db.sql<{ table_name: string; operation: string; row_id: string }[]>`
		select table_name, operation, row_id from outbox where entity_key = ${entityKey} order by id`),
];

describe("POST /events", () => {
	test("creates the caller's event: 201, ISO dates, defaults, stored row", async () => {
		const a = await register(app);
		const startsAt = at(48);
		const res = await app.request("POST", "/api/v1/events", {
			token: a.accessToken,
			body: { title: "  Launch  ", startsAt, endsAt: at(50), capacity: 3, location: "Berlin" },
		});
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({
			ownerId: a.userId,
			title: "Launch",
			description: "",
			location: "Berlin",
			capacity: 3,
			status: "scheduled",
			startsAt,
			reminderOffsets: [86_400, 3_600],
		});
		expect(res.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
		expect(await eventRow(res.body.id)).toMatchObject({ owner_id: a.userId, title: "Launch", capacity: 3 });

		const custom = await createEvent(a.accessToken, { reminderOffsets: [60, 7_200, 600] });
		expect(custom.reminderOffsets).toEqual([7_200, 600, 60]);
		expect(await eventRow(custom.id)).toMatchObject({ reminder_offsets: [7_200, 600, 60] });
		expect((await createEvent(a.accessToken, { reminderOffsets: [] })).reminderOffsets).toEqual([]);
		expect((await app.request("POST", "/api/v1/events", { body: newEvent() })).status).toBe(401);
	});

	test("every rule violation is 422 naming the field and writes nothing", async () => {
		const a = await register(app);
		const cases: [string, Record<string, unknown>][] = [
			["title", { title: "" }],
			["title", { title: "   " }],
			["title", { title: "x".repeat(201) }],
			["title", { title: undefined }],
			["capacity", { capacity: 0 }],
			["capacity", { capacity: -3 }],
			["capacity", { capacity: 100_001 }],
			["capacity", { capacity: 2.5 }],
			["capacity", { capacity: undefined }],
			["startsAt", { startsAt: at(-1), endsAt: at(1) }],
			["startsAt", { startsAt: "not a date" }],
			["startsAt", { startsAt: undefined }],
			["endsAt", { endsAt: at(24) }],
			["endsAt", { endsAt: at(23) }],
			["endsAt", { endsAt: "2030-13-45T99:00:00Z" }],
			["reminderOffsets", { reminderOffsets: [0] }],
			["reminderOffsets", { reminderOffsets: [2_592_001] }],
			["reminderOffsets", { reminderOffsets: [60, 60] }],
			["reminderOffsets", { reminderOffsets: [1.5] }],
			["reminderOffsets", { reminderOffsets: Array.from({ length: 11 }, (_, i) => i + 1) }],
			["description", { description: "x".repeat(10_001) }],
		];
		const before = await counts();
		for (const [field, overrides] of cases) {
			const res = await app.request("POST", "/api/v1/events", {
				token: a.accessToken,
				body: newEvent(overrides),
			});
			expect({ field, overrides, status: res.status }).toEqual({ field, overrides, status: 422 });
			expect(fieldsOf(res)).toContain(field);
		}
		expect(await counts()).toEqual(before);
		// The limits themselves are accepted.
		await createEvent(a.accessToken, {
			capacity: 100_000,
			title: "x".repeat(200),
			reminderOffsets: [2_592_000],
		});
	});
});

describe("GET /events", () => {
	test("lists only the caller's events by start, with from/to, status and pages", async () => {
		const a = await register(app);
		const b = await register(app);
		const ids: string[] = [];
		for (const h of [30, 10, 20, 40, 50])
			ids.push((await createEvent(a.accessToken, { startsAt: at(h), endsAt: at(h + 1) })).id);
		await createEvent(b.accessToken);
		const [e30, e10, e20, e40, e50] = ids as [string, string, string, string, string];
		const list = (query = "") => app.request("GET", `/api/v1/events${query}`, { token: a.accessToken });

		const all = await list();
		expect(all.status).toBe(200);
		expect(all.body.total).toBe(5);
		expect(all.body.items.map((e: { id: string }) => e.id)).toEqual([e10, e20, e30, e40, e50]);

		const page = await list("?limit=2&offset=1");
		expect(page.body.total).toBe(5);
		expect(page.body.items.map((e: { id: string }) => e.id)).toEqual([e20, e30]);

		const start20 = (await eventRow(e20))!.starts_at as Date;
		const start40 = (await eventRow(e40))!.starts_at as Date;
		const window = await list(`?from=${start20.toISOString()}&to=${start40.toISOString()}`);
		expect(window.body.items.map((e: { id: string }) => e.id)).toEqual([e20, e30]);
		expect(window.body.total).toBe(2);

		expect(
			(
				await app.request("PATCH", `/api/v1/events/${e50}`, {
					token: a.accessToken,
					body: { status: "cancelled" },
				})
			).status,
		).toBe(200);
		const cancelled = await list("?status=cancelled");
		expect(cancelled.body).toMatchObject({ total: 1, items: [{ id: e50, status: "cancelled" }] });
		expect((await list("?status=scheduled")).body.total).toBe(4);

		for (const bad of ["?limit=0", "?limit=101", "?offset=-1", "?from=yesterday", "?status=done"])
			expect((await list(bad)).status).toBe(422);
	});
});

describe("one event: visibility, changes, deletion", () => {
	test("owner only: others get 404 on GET, PATCH, DELETE and the participant list; nothing changes", async () => {
		const a = await register(app);
		const b = await register(app);
		const event = await createEvent(a.accessToken);
		const before = await eventRow(event.id);
		const path = `/api/v1/events/${event.id}`;
		expect((await app.request("GET", path, { token: a.accessToken })).body).toEqual(event);
		expect((await app.request("GET", path, { token: b.accessToken })).status).toBe(404);
		expect((await app.request("PATCH", path, { token: b.accessToken, body: { title: "Mine" } })).status).toBe(
			404,
		);
		expect((await app.request("DELETE", path, { token: b.accessToken })).status).toBe(404);
		expect((await app.request("GET", `${path}/participants`, { token: b.accessToken })).status).toBe(404);
		expect(await eventRow(event.id)).toEqual(before);
		expect(
			(await app.request("GET", `/api/v1/events/${crypto.randomUUID()}`, { token: a.accessToken })).status,
		).toBe(404);
	});

	test("a participant (in any status) can read the event, but not change it", async () => {
		const a = await register(app);
		const b = await register(app);
		const c = await register(app);
		const event = await createEvent(a.accessToken);
		const path = `/api/v1/events/${event.id}`;
		const joined = await app.request("POST", `${path}/participants`, { token: b.accessToken });
		expect(joined.status).toBe(201);
		expect((await app.request("GET", path, { token: b.accessToken })).body).toMatchObject({ id: event.id });
		expect(
			(await app.request("DELETE", `${path}/participants/${joined.body.id}`, { token: b.accessToken }))
				.status,
		).toBe(204);
		expect((await app.request("GET", path, { token: b.accessToken })).status).toBe(200);
		expect((await app.request("PATCH", path, { token: b.accessToken, body: { title: "B's" } })).status).toBe(
			404,
		);
		// One rule (README, Swagger): who can see the event but is not its owner gets 403 for the list.
		expect((await app.request("GET", `${path}/participants`, { token: b.accessToken })).status).toBe(403);
		expect((await app.request("GET", path, { token: c.accessToken })).status).toBe(404);
	});

	test("malformed ids are 404 or 422, never 500", async () => {
		const a = await register(app);
		const event = await createEvent(a.accessToken);
		const bad = ["not-a-uuid", "1", `urn:uuid:${crypto.randomUUID()}`, `{${crypto.randomUUID()}}`, "%00"];
		for (const id of bad) {
			for (const [method, path] of [
				["GET", `/api/v1/events/${id}`],
				["PATCH", `/api/v1/events/${id}`],
				["DELETE", `/api/v1/events/${id}`],
				["POST", `/api/v1/events/${id}/participants`],
				["GET", `/api/v1/events/${id}/participants`],
				["DELETE", `/api/v1/events/${event.id}/participants/${id}`],
				["PATCH", `/api/v1/events/${event.id}/participants/${id}`],
			] as const) {
				const res = await app.request(method, path, {
					token: a.accessToken,
					body: method === "PATCH" ? { status: "confirmed" } : undefined,
				});
				expect({ method, path, ok: [404, 422].includes(res.status) }).toEqual({ method, path, ok: true });
			}
		}
	});

	test("PATCH changes fields; the merged times are checked; a no-op writes nothing", async () => {
		const a = await register(app);
		const event = await createEvent(a.accessToken);
		const path = `/api/v1/events/${event.id}`;
		const patch = (body: Record<string, unknown>) =>
			app.request("PATCH", path, { token: a.accessToken, body });
		const startsAt = at(72);
		const endsAt = at(75);
		const res = await patch({
			title: "Renamed",
			startsAt,
			endsAt,
			location: "Paris",
			capacity: 20,
			reminderOffsets: [600],
		});
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({
			title: "Renamed",
			startsAt,
			endsAt,
			location: "Paris",
			capacity: 20,
			reminderOffsets: [600],
		});
		expect(await eventRow(event.id)).toMatchObject({
			title: "Renamed",
			location: "Paris",
			capacity: 20,
			reminder_offsets: [600],
		});

		const before = await eventRow(event.id);
		const outboxBefore = (await outboxFor(event.id)).length;
		const invalid: [string, Record<string, unknown>][] = [
			["startsAt", { startsAt: at(-2) }],
			["endsAt", { startsAt: at(80) }],
			["endsAt", { endsAt: at(71) }],
			["endsAt", { startsAt: at(30), endsAt: at(29) }],
			["title", { title: " " }],
			["capacity", { capacity: 0 }],
			["reminderOffsets", { reminderOffsets: [5, 5] }],
			["status", { status: "done" }],
		];
		for (const [field, body] of invalid) {
			const r = await patch(body);
			expect({ field, body, status: r.status }).toEqual({ field, body, status: 422 });
			expect(fieldsOf(r)).toContain(field);
		}
		const same = await patch({ title: "Renamed", capacity: 20, endsAt });
		expect(same.status).toBe(200);
		expect(await eventRow(event.id)).toEqual(before);
		expect((await outboxFor(event.id)).length).toBe(outboxBefore);
	});

	test("cancelling is final: un-cancel is 409, registration is 409", async () => {
		const a = await register(app);
		const b = await register(app);
		const event = await createEvent(a.accessToken);
		const path = `/api/v1/events/${event.id}`;
		const cancel = await app.request("PATCH", path, { token: a.accessToken, body: { status: "cancelled" } });
		expect(cancel.body.status).toBe("cancelled");
		const again = await app.request("PATCH", path, { token: a.accessToken, body: { status: "cancelled" } });
		expect(again.status).toBe(200);
		const revive = await app.request("PATCH", path, { token: a.accessToken, body: { status: "scheduled" } });
		expect(revive.status).toBe(409);
		expect(revive.body.error.code).toBe("conflict");
		expect((await eventRow(event.id))!.status).toBe("cancelled");
		expect((await app.request("POST", `${path}/participants`, { token: b.accessToken })).status).toBe(409);
	});
});
