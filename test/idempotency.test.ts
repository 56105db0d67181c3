/**
 * `Idempotency-Key` on every authenticated POST (src/http/idempotency.ts):
 * replay (same status and body, `Idempotent-Replayed: true`), the same key
 * with another body (422), a request still in flight (409, made
 * deterministic by holding the contact's row lock), twenty concurrent
 * identical creates → one row, keys scoped per user, failed requests free
 * their key, bad keys refused, expired keys purged by the daily cleanup, and
 * the header documented on every authenticated POST.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { fingerprint } from "../src/http/idempotency.ts";
import { maintenanceFeature } from "../src/maintenance/feature.ts";
import type { TestApp } from "./support/app.ts";
import { createContact, holdContactRow, withSignedInUser } from "./support/debts.ts";
import { type Registered, register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

setDefaultTimeout(30_000);

let app: TestApp;
let a: Registered;
withSignedInUser((x, u) => {
	[app, a] = [x, u];
});

const tx = (contactId: string, amountMinor = 100) => ({
	contactId,
	kind: "lent",
	currency: "EUR",
	amountMinor,
	occurredOn: "2026-01-01",
});
const send = (key: string, body: unknown, path = "/api/v1/transactions", token = a.accessToken) =>
	app.request("POST", path, { token, body, headers: { "idempotency-key": key } });
const txCount = async (contactId: string) =>
	(
		await app.db.sql<
			{ n: number }[]
		>`select count(*)::int as n from transactions where contact_id = ${contactId}`
	)[0]!.n;

describe("Idempotency-Key", () => {
	test("a replay returns the first status and body with Idempotent-Replayed; the handler does not run again", async () => {
		const c = await createContact(app, a.accessToken);
		const key = crypto.randomUUID();
		const first = await send(key, tx(c.id));
		expect(first.status).toBe(201);
		expect(first.headers.get("idempotent-replayed")).toBeNull();
		const again = await send(key, tx(c.id));
		expect(again.status).toBe(201);
		expect(again.headers.get("idempotent-replayed")).toBe("true");
		expect(again.body).toEqual(first.body);
		expect(await txCount(c.id)).toBe(1);
		// Same body with its keys in another order is the same request.
		const reordered = await send(key, Object.fromEntries(Object.entries(tx(c.id)).reverse()));
		expect(reordered.status).toBe(201);
		expect(reordered.body).toEqual(first.body);
		// Works on any authenticated POST, not only debts: a contact, a settle-up.
		const ck = crypto.randomUUID();
		const c1 = await send(ck, { name: "Once" }, "/api/v1/contacts");
		const c2 = await send(ck, { name: "Once" }, "/api/v1/contacts");
		expect(c2.body).toEqual(c1.body);
		const sk = crypto.randomUUID();
		const s1 = await send(sk, { currency: "EUR" }, `/api/v1/contacts/${c.id}/settle`);
		const s2 = await send(sk, { currency: "EUR" }, `/api/v1/contacts/${c.id}/settle`);
		expect([s1.status, s2.status]).toEqual([201, 201]);
		expect(s2.body).toEqual(s1.body);
	});

	test("the same key with another body or path is 422 idempotency_key_reused; nothing written", async () => {
		const c = await createContact(app, a.accessToken);
		const key = crypto.randomUUID();
		expect((await send(key, tx(c.id, 100))).status).toBe(201);
		const other = await send(key, tx(c.id, 200));
		expect(other.status).toBe(422);
		expect(other.body.error.code).toBe("idempotency_key_reused");
		const otherPath = await send(key, { name: "x" }, "/api/v1/contacts");
		expect(otherPath.status).toBe(422);
		expect(await txCount(c.id)).toBe(1);
	});

	test("keys are per user: another user's identical key runs on its own", async () => {
		const b = await register(app);
		const key = "shared-key";
		const ra = await send(key, { name: "A" }, "/api/v1/contacts");
		const rb = await send(key, { name: "A" }, "/api/v1/contacts", b.accessToken);
		expect([ra.status, rb.status]).toEqual([201, 201]);
		expect(rb.headers.get("idempotent-replayed")).toBeNull();
		expect(rb.body.id).not.toBe(ra.body.id);
	});

	test("while the first request is running, the same key is 409 idempotency_in_flight (held lock)", async () => {
		const c = await createContact(app, a.accessToken);
		const key = crypto.randomUUID();
		// Hold the contact row: the first request claims its key, then waits for the lock.
		const lock = await holdContactRow(app, c.id);
		const first = send(key, tx(c.id));
		await eventually(
			async () =>
				(await app.db.sql`select 1 from idempotency_keys where key = ${key} and status is null`).length === 1,
			{ what: "the first request's claim" },
		);
		const during = await send(key, tx(c.id));
		expect(during.status).toBe(409);
		expect(during.body.error.code).toBe("idempotency_in_flight");
		await lock.release();
		const done = await first;
		expect(done.status).toBe(201);
		const after = await send(key, tx(c.id));
		expect(after.status).toBe(201);
		expect(after.headers.get("idempotent-replayed")).toBe("true");
		expect(after.body).toEqual(done.body);
		expect(await txCount(c.id)).toBe(1);
	});

	test("twenty concurrent identical creates: exactly one row; the rest are replays or 409", async () => {
		const c = await createContact(app, a.accessToken);
		const key = crypto.randomUUID();
		const results = await Promise.all(Array.from({ length: 20 }, () => send(key, tx(c.id, 777))));
		const created = results.filter((r) => r.status === 201);
		expect(results.every((r) => r.status === 201 || r.status === 409)).toBe(true);
		expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
		expect(
			results.filter((r) => r.status === 201 && r.headers.get("idempotent-replayed") === null),
		).toHaveLength(1);
		expect(await txCount(c.id)).toBe(1);
		const [balance] = await app.db
			.sql`select balance_minor::int as b from balances where contact_id = ${c.id}`;
		expect(balance!.b).toBe(777);
		// Twenty concurrent creates with one client-chosen id and no key: one row, the others 409.
		const id = Bun.randomUUIDv7();
		const byId = await Promise.all(
			Array.from({ length: 20 }, () =>
				app.request("POST", "/api/v1/transactions", { token: a.accessToken, body: { ...tx(c.id, 5), id } }),
			),
		);
		expect(byId.filter((r) => r.status === 201)).toHaveLength(1);
		expect(byId.filter((r) => r.status === 409)).toHaveLength(19);
		expect(await txCount(c.id)).toBe(2);
	});

	test("a failed request frees its key: the retry with the same key runs", async () => {
		const c = await createContact(app, a.accessToken);
		const key = crypto.randomUUID();
		const missing = await send(key, { ...tx(crypto.randomUUID()) });
		expect(missing.status).toBe(404);
		expect((await app.db.sql`select 1 from idempotency_keys where key = ${key}`).length).toBe(0);
		const fixed = await send(key, tx(c.id));
		expect(fixed.status).toBe(201);
		// Schema errors never claim a key.
		const k2 = crypto.randomUUID();
		expect((await send(k2, { name: "" }, "/api/v1/contacts")).status).toBe(422);
		expect((await send(k2, { name: "ok" }, "/api/v1/contacts")).status).toBe(201);
	});

	test("bad keys: 422 with a JSON body; anonymous routes ignore the header; 401 comes first", async () => {
		for (const key of ["", "x".repeat(256), "has space", "ümlaut"]) {
			const res = await app.app.handle(
				new Request("http://localhost/api/v1/contacts", {
					method: "POST",
					headers: {
						authorization: `Bearer ${a.accessToken}`,
						"content-type": "application/json",
						"idempotency-key": key,
					},
					body: JSON.stringify({ name: "k" }),
				}),
			);
			expect({ key: key.slice(0, 10), status: res.status }).toEqual({ key: key.slice(0, 10), status: 422 });
			expect(((await res.json()) as any).error.code).toBe("idempotency_key_invalid");
		}
		expect((await send("x".repeat(255), { name: "long key" }, "/api/v1/contacts")).status).toBe(201);
		const anon = await app.request("POST", "/api/v1/contacts", {
			body: { name: "x" },
			headers: { "idempotency-key": "" },
		});
		expect(anon.status).toBe(401);
		const email = `${crypto.randomUUID()}@example.com`;
		const reg = await app.request("POST", "/api/v1/auth/register", {
			body: { email, password: "correct horse battery", displayName: "K" },
			headers: { "idempotency-key": "k1" },
		});
		expect(reg.status).toBe(201);
	});

	test("a claim left in flight by a request that died is taken over after 5 minutes", async () => {
		const c = await createContact(app, a.accessToken);
		const key = crypto.randomUUID();
		await app.db.sql`
			insert into idempotency_keys (user_id, key, fingerprint, created_at, expires_at)
			values (${a.userId}, ${key}, ${fingerprint("POST", "http://localhost/api/v1/transactions", a.userId, tx(c.id))},
			        now() - interval '4 minutes', now() + interval '20 hours')`;
		expect((await send(key, tx(c.id))).status).toBe(409);
		await app.db
			.sql`update idempotency_keys set created_at = now() - interval '6 minutes' where key = ${key}`;
		const taken = await send(key, tx(c.id));
		expect(taken.status).toBe(201);
		expect(taken.headers.get("idempotent-replayed")).toBeNull();
		expect((await send(key, tx(c.id))).headers.get("idempotent-replayed")).toBe("true");
	});

	test("expired keys are purged by the daily cleanup", async () => {
		const c = await createContact(app, a.accessToken);
		const key = crypto.randomUUID();
		await send(key, tx(c.id));
		const [row] = await app.db.sql<{ hours: number }[]>`
			select extract(epoch from expires_at - created_at)::int / 3600 as hours from idempotency_keys where key = ${key}`;
		expect(row!.hours).toBe(24);
		await app.db.sql`update idempotency_keys set expires_at = now() - interval '1 second' where key = ${key}`;
		const purge = maintenanceFeature.cleanup["expired-idempotency-keys"];
		expect(await purge(app.db.sql)).toBeGreaterThanOrEqual(1);
		expect((await app.db.sql`select 1 from idempotency_keys where key = ${key}`).length).toBe(0);
		// An expired key is a new request.
		const fresh = await send(key, tx(c.id, 999));
		expect(fresh.status).toBe(201);
		expect(fresh.headers.get("idempotent-replayed")).toBeNull();
	});

	test("OpenAPI: every authenticated POST documents the header and its 409/422", async () => {
		const doc = (await app.request("GET", "/swagger/json")).body;
		let posts = 0;
		for (const [path, item] of Object.entries<any>(doc.paths)) {
			const op = item.post;
			if (!op?.security?.length) continue;
			posts++;
			const header = op.parameters?.find((p: any) => p.in === "header" && p.name === "Idempotency-Key");
			expect({ path, header: header?.schema?.maxLength }).toEqual({ path, header: 255 });
			expect({ path, statuses: ["409", "422"].every((s) => s in op.responses) }).toEqual({
				path,
				statuses: true,
			});
		}
		expect(posts).toBeGreaterThan(10);
		expect(doc.paths["/api/v1/auth/login"].post.parameters ?? []).not.toContainEqual(
			expect.objectContaining({ name: "Idempotency-Key" }),
		);
	});
});
