/**
 * The in-app inbox over REST: list (newest first, unread filter, pagination),
 * mark one read, mark all read, idempotent creation, and object-level
 * authorization between users.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createNotification, type NewNotification } from "../src/notifications/repository.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { register } from "./support/tokens.ts";

let app: TestApp;
beforeAll(async () => {
	app = await startTestApp();
});
afterAll(async () => {
	await app.stop();
});

interface Account {
	id: string;
	token: string;
}

async function signUp(): Promise<Account> {
	const r = await register(app);
	return { id: r.userId, token: r.accessToken };
}

const notify = (userId: string, n: Partial<NewNotification> = {}) =>
	createNotification(app.db.sql, {
		userId,
		kind: "event.reminder",
		title: "Party starts in 1 hour",
		dedupeKey: crypto.randomUUID(),
		...n,
	});

const list = (token: string, query = "") => app.request("GET", `/api/v1/notifications${query}`, { token });
const read = (token: string, id: string) =>
	app.request("POST", `/api/v1/notifications/${id}/read`, { token });

describe("createNotification", () => {
	test("is idempotent by (user, dedupe key): one row, the first one wins", async () => {
		const a = await signUp();
		const b = await signUp();
		const first = await notify(a.id, {
			dedupeKey: "reminder:e1:3600",
			title: "first",
			data: { eventId: "e1" },
		});
		expect(first.created).toBe(true);
		expect(first.row).toMatchObject({ user_id: a.id, title: "first", body: "", data: { eventId: "e1" } });
		const again = await notify(a.id, { dedupeKey: "reminder:e1:3600", title: "second" });
		expect(again.created).toBe(false);
		expect(again.row.id).toBe(first.row.id);
		expect(again.row.title).toBe("first");
		// The key is per user: another user gets their own row.
		const other = await notify(b.id, { dedupeKey: "reminder:e1:3600" });
		expect(other.created).toBe(true);
		const [count] = await app.db.sql<{ n: number }[]>`
			select count(*)::int as n from notifications where dedupe_key = 'reminder:e1:3600'`;
		expect(count!.n).toBe(2);
	});

	test("concurrent duplicates still give one row and one `created: true`", async () => {
		const a = await signUp();
		const results = await Promise.all(Array.from({ length: 5 }, () => notify(a.id, { dedupeKey: "same" })));
		expect(results.filter((r) => r.created)).toHaveLength(1);
		expect(new Set(results.map((r) => r.row.id)).size).toBe(1);
	});
});

describe("GET /notifications", () => {
	test("newest first in the public shape, with total and unread; 401 without a token", async () => {
		const a = await signUp();
		const older = await notify(a.id, { title: "older", body: "b1", data: { n: 1 } });
		const newer = await notify(a.id, { title: "newer", kind: "event.promoted" });
		const res = await list(a.token);
		expect(res.status).toBe(200);
		expect(res.body).toEqual({
			items: [
				{
					id: newer.row.id,
					kind: "event.promoted",
					title: "newer",
					body: "",
					data: {},
					createdAt: newer.row.created_at.toISOString(),
					readAt: null,
				},
				{
					id: older.row.id,
					kind: "event.reminder",
					title: "older",
					body: "b1",
					data: { n: 1 },
					createdAt: older.row.created_at.toISOString(),
					readAt: null,
				},
			],
			total: 2,
			unread: 2,
		});
		expect((await list("")).status).toBe(401);
		expect((await app.request("GET", "/api/v1/notifications")).body.error.code).toBe("token_missing");
	});

	test("unread filter and pagination", async () => {
		const a = await signUp();
		const rows = [];
		for (let i = 0; i < 5; i++) rows.push((await notify(a.id, { title: `n${i}` })).row);
		const newestFirst = rows.map((r) => r.id).reverse();
		expect((await read(a.token, rows[1]!.id)).status).toBe(200);
		expect((await read(a.token, rows[3]!.id)).status).toBe(200);

		const page1 = await list(a.token, "?limit=2");
		expect(page1.body.items.map((n: { id: string }) => n.id)).toEqual(newestFirst.slice(0, 2));
		expect(page1.body).toMatchObject({ total: 5, unread: 3 });
		const page2 = await list(a.token, "?limit=2&offset=2");
		expect(page2.body.items.map((n: { id: string }) => n.id)).toEqual(newestFirst.slice(2, 4));
		const past = await list(a.token, "?offset=10");
		expect(past.body).toMatchObject({ items: [], total: 5, unread: 3 });

		const unread = await list(a.token, "?unread=true");
		expect(unread.body.items.map((n: { title: string }) => n.title)).toEqual(["n4", "n2", "n0"]);
		expect(unread.body).toMatchObject({ total: 3, unread: 3 });
		const unreadPage = await list(a.token, "?unread=true&limit=1&offset=1");
		expect(unreadPage.body.items.map((n: { title: string }) => n.title)).toEqual(["n2"]);
		expect((await list(a.token, "?unread=false")).body.total).toBe(5);

		for (const bad of ["?limit=0", "?limit=201", "?offset=-1", "?unread=maybe"])
			expect((await list(a.token, bad)).status).toBe(422);
	});
});

describe("marking read", () => {
	test("POST /:id/read returns the notification and is idempotent", async () => {
		const a = await signUp();
		const { row } = await notify(a.id);
		const first = await read(a.token, row.id);
		expect(first.status).toBe(200);
		expect(first.body).toMatchObject({ id: row.id, title: row.title });
		expect(typeof first.body.readAt).toBe("string");
		const second = await read(a.token, row.id);
		expect(second.status).toBe(200);
		expect(second.body.readAt).toBe(first.body.readAt);
		expect((await list(a.token)).body.unread).toBe(0);
		expect((await read(a.token, crypto.randomUUID())).status).toBe(404);
		expect((await read(a.token, "not-a-uuid")).status).toBe(422);
	});

	test("POST /read-all marks only the caller's unread ones and reports how many", async () => {
		const a = await signUp();
		const b = await signUp();
		const { row: alreadyRead } = await notify(a.id);
		await read(a.token, alreadyRead.id);
		await notify(a.id);
		await notify(a.id);
		await notify(b.id);
		const res = await app.request("POST", "/api/v1/notifications/read-all", { token: a.token });
		expect(res.status).toBe(200);
		expect(res.body).toEqual({ updated: 2 });
		expect((await list(a.token)).body).toMatchObject({ total: 3, unread: 0 });
		expect((await list(b.token)).body).toMatchObject({ total: 1, unread: 1 });
		const again = await app.request("POST", "/api/v1/notifications/read-all", { token: a.token });
		expect(again.body).toEqual({ updated: 0 });
		const [kept] = await app.db.sql<{ read_at: Date }[]>`
			select read_at from notifications where id = ${alreadyRead.id}`;
		expect(kept!.read_at.toISOString()).toBe((await read(a.token, alreadyRead.id)).body.readAt);
	});
});

describe("object-level authorization", () => {
	test("B can neither see nor mark A's notifications", async () => {
		const a = await signUp();
		const b = await signUp();
		const { row } = await notify(a.id, { title: "for A only" });
		await notify(b.id, { title: "for B" });

		const bList = await list(b.token);
		expect(bList.body.items.map((n: { title: string }) => n.title)).toEqual(["for B"]);
		expect(JSON.stringify(bList.body)).not.toContain(row.id);
		expect((await list(b.token, "?unread=true&limit=200")).body.total).toBe(1);

		const stolen = await read(b.token, row.id);
		expect(stolen.status).toBe(404);
		expect(stolen.body.error.code).toBe("not_found");
		expect(JSON.stringify(stolen.body)).not.toContain("for A only");
		const [untouched] = await app.db.sql<{ read_at: Date | null }[]>`
			select read_at from notifications where id = ${row.id}`;
		expect(untouched!.read_at).toBeNull();
		expect((await list(a.token)).body.items[0]).toMatchObject({ id: row.id, readAt: null });
	});
});
