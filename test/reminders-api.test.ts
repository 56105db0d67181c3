/**
 * The reminders API over real PostgreSQL: CRUD with paging and the status
 * filter, the actions, the preview (UTC and local with offsets), validation
 * (422 with details.field, nothing written), BOLA on every route, seed 001's
 * aliases answering with the same bodies, and the triggers that tie a
 * reminder to its subject (soft delete and restore, settled debt) and to the
 * owner's profile time zone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type Registered, register } from "./support/tokens.ts";

let t: TestApp;
let alice: Registered;
let mallory: Registered;

beforeAll(async () => {
	t = await startTestApp();
	alice = await register(t);
	mallory = await register(t);
});

afterAll(async () => {
	await t.stop();
});

const NEXT = new Date().getUTCFullYear() + 1;
const body = (over: Record<string, unknown> = {}) => ({
	title: "Ask Bob for the 20 EUR",
	dueAt: `${NEXT}-03-27T09:00`,
	timeZone: "Europe/Berlin",
	rrule: "FREQ=DAILY",
	...over,
});
const create = async (token: string, over: Record<string, unknown> = {}) => {
	const res = await t.request("POST", "/api/v1/reminders", { token, body: body(over) });
	expect(res.status).toBe(201);
	return res.body;
};
const count = async (userId: string) =>
	(await t.db.sql<{ n: number }[]>`select count(*)::int as n from reminders where owner_id = ${userId}`)[0]!
		.n;

async function contactWithDebt(ownerId: string, dueDate: string | null = null) {
	const [c] = await t.db.sql`insert into contacts (owner_id, name) values (${ownerId}, 'Bob') returning id`;
	const [tx] = await t.db.sql`
		insert into transactions (owner_id, contact_id, kind, amount_minor, currency, occurred_on, due_date)
		values (${ownerId}, ${c!.id}, 'lent', 2000, 'EUR', current_date, ${dueDate}) returning id`;
	return { contactId: c!.id as string, transactionId: tx!.id as string };
}

describe("CRUD", () => {
	test("create, read, list with paging and status, change, delete", async () => {
		const r = await create(alice.accessToken, { notes: "cash", offsets: ["P1D", "PT0S"] });
		expect(r).toMatchObject({
			title: "Ask Bob for the 20 EUR",
			dueAt: `${NEXT}-03-27T09:00:00`,
			timeZone: "Europe/Berlin",
			rrule: "FREQ=DAILY",
			offsets: ["P1D", "PT0S"],
			status: "active",
			snoozedUntil: null,
		});
		expect((await t.request("GET", `/api/v1/reminders/${r.id}`, { token: alice.accessToken })).body).toEqual(
			r,
		);
		const second = await create(alice.accessToken, { timeZone: null, rrule: null });
		expect(second.timeZone).toBeNull();
		await t.request("POST", `/api/v1/reminders/${second.id}/pause`, { token: alice.accessToken });
		const page = await t.request("GET", "/api/v1/reminders?limit=1&offset=1", { token: alice.accessToken });
		expect(page.body.total).toBeGreaterThanOrEqual(2);
		expect(page.body.items).toHaveLength(1);
		const paused = await t.request("GET", "/api/v1/reminders?status=paused", { token: alice.accessToken });
		expect(paused.body.items.map((x: { id: string }) => x.id)).toEqual([second.id]);
		const changed = await t.request("PATCH", `/api/v1/reminders/${r.id}`, {
			token: alice.accessToken,
			body: { title: "Ask Bob again", exdates: [`${NEXT}-03-28T09:00`] },
		});
		expect(changed.body).toMatchObject({ title: "Ask Bob again", exdates: [`${NEXT}-03-28T09:00:00`] });
		expect(
			(await t.request("DELETE", `/api/v1/reminders/${r.id}`, { token: alice.accessToken })).status,
		).toBe(204);
		expect((await t.request("GET", `/api/v1/reminders/${r.id}`, { token: alice.accessToken })).status).toBe(
			404,
		);
	});

	test("invalid input is 422 with a machine-readable field, and nothing is written", async () => {
		const before = await count(alice.userId);
		const cases: [Record<string, unknown>, string][] = [
			[{ timeZone: "Mars/Olympus_Mons" }, "timeZone"],
			[{ rrule: "FREQ=FORTNIGHTLY" }, "rrule"],
			[{ rrule: "FREQ=DAILY;BYHOUR=25" }, "rrule"],
			[{ offsets: ["PT1H", "PT2H", "PT3H", "PT4H", "PT5H", "PT6H"] }, "offsets"],
			[{ offsets: ["soon"] }, "offsets"],
			[{ dueAt: `${NEXT}-02-30T09:00` }, "dueAt"],
			[{ exdates: [`${NEXT}-13-01T09:00`] }, "exdates"],
			[{ followDueDate: true }, "followDueDate"],
			[{ subjectContactId: crypto.randomUUID() }, "subjectContactId"],
		];
		for (const [over, field] of cases) {
			const res = await t.request("POST", "/api/v1/reminders", {
				token: alice.accessToken,
				body: body(over),
			});
			expect({ over, status: res.status, field: res.body.error?.details?.field }).toEqual({
				over,
				status: 422,
				field,
			});
			expect(res.body.error.code).toBe("unprocessable");
		}
		for (const dueAt of ["2027-03-27T09:00Z", "2027-03-27", "tomorrow"]) {
			const res = await t.request("POST", "/api/v1/reminders", {
				token: alice.accessToken,
				body: body({ dueAt }),
			});
			expect(res.status).toBe(422);
		}
		expect(await count(alice.userId)).toBe(before);
	});
});

/** Rules parseRule accepts that have no occurrence rrule-temporal can find (it gives up after 10,000 steps). */
const IMPOSSIBLE_RULES = [
	"FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2",
	"FREQ=YEARLY;BYWEEKNO=53;BYMONTH=1",
	"FREQ=YEARLY;BYSETPOS=366",
	"FREQ=MONTHLY;BYDAY=99MO",
];

describe("rules without an occurrence", () => {
	test("create and update with a rule the library gives up on are 422 on rrule, nothing written", async () => {
		const before = await count(alice.userId);
		const dueAt = "2030-01-01T09:00"; // the library's search depends on DTSTART: these fail from this one
		const kept = await create(alice.accessToken, { dueAt });
		for (const rrule of IMPOSSIBLE_RULES) {
			const res = await t.request("POST", "/api/v1/reminders", {
				token: alice.accessToken,
				body: body({ rrule, dueAt }),
			});
			expect({ rrule, status: res.status, field: res.body.error?.details?.field }).toEqual({
				rrule,
				status: 422,
				field: "rrule",
			});
			const upd = await t.request("PATCH", `/api/v1/reminders/${kept.id}`, {
				token: alice.accessToken,
				body: { rrule },
			});
			expect({ rrule, status: upd.status, field: upd.body.error?.details?.field }).toEqual({
				rrule,
				status: 422,
				field: "rrule",
			});
		}
		expect(await count(alice.userId)).toBe(before + 1);
		const [row] = await t.db.sql`select rrule from reminders where id = ${kept.id}`;
		expect(row!.rrule).toBe("FREQ=DAILY");
	});
});

describe("actions and preview", () => {
	test("preview: daily 09:00 Berlin across the spring change, in UTC and local time with offsets", async () => {
		const r = await create(alice.accessToken);
		const res = await t.request("GET", `/api/v1/reminders/${r.id}/preview?count=3`, {
			token: alice.accessToken,
		});
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ reminderId: r.id, timeZone: "Europe/Berlin", status: "active" });
		expect(res.body.items.map((i: Record<string, string>) => [i.fireAt, i.local, i.utcOffset])).toEqual([
			[`${NEXT}-03-27T08:00:00.000Z`, `${NEXT}-03-27T09:00:00+01:00`, "+01:00"],
			[`${NEXT}-03-28T07:00:00.000Z`, `${NEXT}-03-28T09:00:00+02:00`, "+02:00"],
			[`${NEXT}-03-29T07:00:00.000Z`, `${NEXT}-03-29T09:00:00+02:00`, "+02:00"],
		]);
		expect(
			(await t.request("GET", `/api/v1/reminders/${r.id}/preview?count=0`, { token: alice.accessToken }))
				.status,
		).toBe(422);
	});

	test("snooze moves the pending firing; pause/resume; complete ends one occurrence of a series", async () => {
		const r = await create(alice.accessToken);
		const token = alice.accessToken;
		const until = `${NEXT}-03-27T11:30:00.000Z`;
		const snoozed = await t.request("POST", `/api/v1/reminders/${r.id}/snooze`, { token, body: { until } });
		expect(snoozed.status).toBe(200);
		expect(snoozed.body.snoozedUntil).toBe(until);
		const preview = async () =>
			(await t.request("GET", `/api/v1/reminders/${r.id}/preview?count=2`, { token })).body.items.map(
				(i: { firing: string; fireAt: string; snoozed: boolean }) => [i.firing, i.fireAt, i.snoozed],
			);
		expect(await preview()).toEqual([
			[`${NEXT}-03-27T09:00:00`, until, true],
			[`${NEXT}-03-28T09:00:00`, `${NEXT}-03-28T07:00:00.000Z`, false],
		]);
		expect((await t.request("POST", `/api/v1/reminders/${r.id}/snooze`, { token, body: {} })).status).toBe(
			422,
		);
		expect(
			(
				await t.request("POST", `/api/v1/reminders/${r.id}/snooze`, {
					token,
					body: { until: "2000-01-01T00:00:00Z" },
				})
			).status,
		).toBe(422);
		expect((await t.request("POST", `/api/v1/reminders/${r.id}/pause`, { token })).body.status).toBe(
			"paused",
		);
		expect(
			(await t.request("POST", `/api/v1/reminders/${r.id}/snooze`, { token, body: { minutes: 10 } })).status,
		).toBe(409);
		expect((await t.request("POST", `/api/v1/reminders/${r.id}/resume`, { token })).body.status).toBe(
			"active",
		);
		const done = await t.request("POST", `/api/v1/reminders/${r.id}/complete`, { token });
		expect(done.body.status).toBe("active"); // a series: only its next occurrence is done
		expect((await preview())[0]).toEqual([`${NEXT}-03-28T09:00:00`, `${NEXT}-03-28T07:00:00.000Z`, false]);
		const once = await create(token, { rrule: null });
		expect((await t.request("POST", `/api/v1/reminders/${once.id}/complete`, { token })).body.status).toBe(
			"completed",
		);
		expect((await t.request("POST", `/api/v1/reminders/${once.id}/pause`, { token })).status).toBe(409);
		const cancelled = await t.request("PATCH", `/api/v1/reminders/${r.id}`, {
			token,
			body: { status: "cancelled" },
		});
		expect(cancelled.body).toMatchObject({ status: "cancelled", nextFireAt: null });
	});
});

describe("owner scope and seed aliases", () => {
	test("another user's reminder is 404 on every route", async () => {
		const r = await create(alice.accessToken);
		const token = mallory.accessToken;
		const calls: [string, string, unknown?][] = [
			["GET", ""],
			["PATCH", "", { title: "mine now" }],
			["DELETE", ""],
			["POST", "/snooze", { minutes: 5 }],
			["POST", "/pause"],
			["POST", "/resume"],
			["POST", "/complete"],
			["GET", "/preview"],
		];
		for (const [method, suffix, b] of calls) {
			const res = await t.request(method, `/api/v1/reminders/${r.id}${suffix}`, { token, body: b });
			expect({ method, suffix, status: res.status }).toEqual({ method, suffix, status: 404 });
		}
		const list = await t.request("GET", "/api/v1/reminders", { token });
		expect(list.body.items.map((x: { id: string }) => x.id)).not.toContain(r.id);
		expect(
			(await t.request("GET", `/api/v1/reminders/${r.id}`, { token: alice.accessToken })).body.title,
		).toBe(r.title);
	});

	test("GET/POST /api/reminders answer with the canonical bodies; Swagger tags them seed-001", async () => {
		const token = (await register(t)).accessToken;
		const made = await t.request("POST", "/api/reminders", { token, body: body() });
		expect(made.status).toBe(201);
		const canonical = await t.request("GET", `/api/v1/reminders/${made.body.id}`, { token });
		expect(made.body).toEqual(canonical.body);
		const aliasList = await t.request("GET", "/api/reminders", { token });
		expect(aliasList.body).toEqual((await t.request("GET", "/api/v1/reminders", { token })).body);
		expect((await t.request("GET", "/api/reminders")).status).toBe(401);
		const doc = (await t.request("GET", "/swagger/json")).body;
		expect(doc.paths["/api/reminders"].get.tags).toEqual(["seed-001 aliases"]);
		expect(doc.paths["/api/reminders"].post.tags).toEqual(["seed-001 aliases"]);
		expect(doc.paths["/api/v1/reminders"].post.tags).toEqual(["reminders"]);
	});
});

describe("subjects and the profile time zone (triggers)", () => {
	test("a contact's soft delete takes its reminders; its restore brings back only those", async () => {
		const { contactId, transactionId } = await contactWithDebt(alice.userId);
		const token = alice.accessToken;
		const onContact = await create(token, { subjectContactId: contactId });
		const onDebt = await create(token, { subjectTransactionId: transactionId });
		const alreadyGone = await create(token, { subjectContactId: contactId });
		await t.db.sql`update reminders set deleted_at = now() - interval '1 day' where id = ${alreadyGone.id}`;
		// The ledger deletes a contact and its transactions with one timestamp.
		await t.db.sql.begin(async (tx) => {
			await tx`update contacts set deleted_at = now() where id = ${contactId}`;
			await tx`update transactions set deleted_at = now() where contact_id = ${contactId}`;
		});
		for (const id of [onContact.id, onDebt.id])
			expect((await t.request("GET", `/api/v1/reminders/${id}`, { token })).status).toBe(404);
		await t.db.sql.begin(async (tx) => {
			await tx`update contacts set deleted_at = null where id = ${contactId}`;
			await tx`update transactions set deleted_at = null where contact_id = ${contactId}`;
		});
		for (const id of [onContact.id, onDebt.id])
			expect((await t.request("GET", `/api/v1/reminders/${id}`, { token })).status).toBe(200);
		expect((await t.request("GET", `/api/v1/reminders/${alreadyGone.id}`, { token })).status).toBe(404);
	});

	test("a settled debt completes its reminders; a reminder can follow the debt's due date", async () => {
		const { transactionId } = await contactWithDebt(alice.userId, `${NEXT}-06-15`);
		const token = alice.accessToken;
		const r = await create(token, {
			subjectTransactionId: transactionId,
			followDueDate: true,
			dueTime: "10:00",
			dueAt: undefined,
			offsets: ["P1D"],
		});
		expect(r.dueAt).toBe(`${NEXT}-06-15T10:00:00`);
		const first = (await t.request("GET", `/api/v1/reminders/${r.id}/preview?count=1`, { token })).body
			.items[0];
		expect(first).toMatchObject({
			firing: `${NEXT}-06-15T10:00:00/P1D`,
			local: `${NEXT}-06-14T10:00:00+02:00`,
		});
		await t.db.sql`update transactions set due_date = ${`${NEXT}-07-01`} where id = ${transactionId}`;
		const moved = (await t.request("GET", `/api/v1/reminders/${r.id}/preview?count=1`, { token })).body
			.items[0];
		expect(moved.local).toBe(`${NEXT}-06-30T10:00:00+02:00`);
		await t.db.sql`update transactions set status = 'settled' where id = ${transactionId}`;
		expect((await t.request("GET", `/api/v1/reminders/${r.id}`, { token })).body.status).toBe("completed");
	});

	test("a new profile time zone re-plans floating reminders only (through the outbox)", async () => {
		const user = await register(t);
		const token = user.accessToken;
		const floating = await create(token, { timeZone: null });
		const pinned = await create(token, { timeZone: "Asia/Tokyo" });
		const version = async (id: string) =>
			(await t.db.sql<{ plan_version: number }[]>`select plan_version from reminders where id = ${id}`)[0]!
				.plan_version;
		const outbox = async (id: string) =>
			(await t.db.sql<{ n: number }[]>`select count(*)::int as n from outbox where entity_key = ${id}`)[0]!.n;
		const before = [await outbox(floating.id), await outbox(pinned.id)];
		const res = await t.request("PATCH", "/api/v1/users/me", {
			token,
			body: { timezone: "America/New_York" },
		});
		expect(res.status).toBe(200);
		expect([await version(floating.id), await version(pinned.id)]).toEqual([1, 0]);
		expect([await outbox(floating.id), await outbox(pinned.id)]).toEqual([before[0]! + 1, before[1]!]);
		const preview = (await t.request("GET", `/api/v1/reminders/${floating.id}/preview?count=1`, { token }))
			.body;
		expect(preview.timeZone).toBe("America/New_York");
		expect(preview.items[0].local).toBe(`${NEXT}-03-27T09:00:00-04:00`);
	});
});
