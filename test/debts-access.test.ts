/**
 * Owner scoping and the seed-001 aliases. Every debts operation that takes an
 * id answers another user's id with 404 (found from the OpenAPI document, so
 * a new route cannot be forgotten), lists never show others' rows, and
 * references to others' rows in bodies are refused. The seed's own paths
 * answer with the same bodies as the canonical routes, and Swagger marks them.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { createContact, createTransaction, postTransaction, tableCounts } from "./support/debts.ts";
import { type Registered, register } from "./support/tokens.ts";

setDefaultTimeout(30_000);

let app: TestApp;
let a: Registered;
let b: Registered;
let doc: any;
beforeAll(async () => {
	app = await startTestApp();
	[a, b] = [await register(app), await register(app)];
	doc = (await app.request("GET", "/swagger/json")).body;
});
afterAll(async () => {
	await app.stop();
});

const DEBT_PATHS = /^\/api(\/v1)?\/(contacts|transactions|balances)/;

describe("BOLA: another user's id is 404 on every route", () => {
	test("every operation with an id, and every body that names a contact", async () => {
		const contact = await createContact(app, a.accessToken, { name: "A's friend" });
		const debt = await createTransaction(app, a.accessToken, { contactId: contact.id, amountMinor: 500 });
		const deletedContact = await createContact(app, a.accessToken, { name: "gone" });
		await app.request("DELETE", `/api/v1/contacts/${deletedContact.id}`, { token: a.accessToken });
		const deletedTx = await createTransaction(app, a.accessToken, { contactId: contact.id, amountMinor: 5 });
		await app.request("DELETE", `/api/v1/transactions/${deletedTx.id}`, { token: a.accessToken });

		const bodies: Record<string, unknown> = {
			"PATCH /api/v1/contacts/{id}": { name: "mine now" },
			"POST /api/contacts/{id}": { name: "mine now" },
			"PATCH /api/v1/transactions/{id}": { amountMinor: 1 },
			"POST /api/v1/contacts/{id}/settle": { currency: "EUR" },
		};
		const operations = Object.entries<Record<string, unknown>>(doc.paths)
			.filter(([path]) => DEBT_PATHS.test(path) && path.includes("{id}"))
			.flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
		expect(operations.length).toBe(13);
		const before = await tableCounts(app);
		for (const op of operations) {
			const [method, path] = op.split(" ") as [string, string];
			const ids = path.includes("/transactions/") ? [debt.id, deletedTx.id] : [contact.id, deletedContact.id];
			for (const id of ids) {
				const res = await app.request(method, path.replace("{id}", id), {
					token: b.accessToken,
					body: bodies[op],
				});
				expect({ op, id, status: res.status }).toEqual({ op, id, status: 404 });
				expect(res.body.error.code).toBe("not_found");
			}
		}
		// Bodies that name A's contact or debt.
		const tx = await postTransaction(app, b.accessToken, {
			contactId: contact.id,
			amountMinor: 1,
			occurredOn: "2026-01-01",
		});
		expect(tx.status).toBe(404);
		const mine = await createContact(app, b.accessToken);
		const alloc = await postTransaction(app, b.accessToken, {
			contactId: mine.id,
			kind: "payment_in",
			amountMinor: 1,
			occurredOn: "2026-01-01",
			allocations: [{ transactionId: debt.id, amountMinor: 1 }],
		});
		expect(alloc.status).toBe(422);
		expect(alloc.body.error.details.reason).toBe("unknown_debt");
		const after = await tableCounts(app);
		expect(after).toEqual({ ...before, contacts: before.contacts + 1 });
		// A's rows are untouched.
		const still = await app.request("GET", `/api/v1/contacts/${contact.id}`, { token: a.accessToken });
		expect(still.body.name).toBe("A's friend");
	});

	test("lists and balances show only the caller's rows", async () => {
		const c = await createContact(app, a.accessToken, { name: "Only A" });
		await createTransaction(app, a.accessToken, { contactId: c.id, amountMinor: 9 });
		for (const path of [
			"/api/v1/contacts?q=Only",
			"/api/contacts?q=Only",
			"/api/v1/transactions",
			"/api/transactions",
			"/api/v1/balances",
		]) {
			const res = await app.request("GET", path, { token: b.accessToken });
			expect({ path, status: res.status }).toEqual({ path, status: 200 });
			const ids = res.body.items.map((i: { id?: string; contactId?: string }) => i.contactId ?? i.id);
			expect({ path, leaked: ids.includes(c.id) }).toEqual({ path, leaked: false });
		}
		const q = await app.request("GET", `/api/v1/transactions?contactId=${c.id}`, { token: b.accessToken });
		expect(q.body).toEqual({ items: [], total: 0 });
	});
});

describe("seed-001 aliases", () => {
	test("answer with the same bodies as the canonical routes", async () => {
		const created = await app.request("POST", "/api/contacts", {
			token: a.accessToken,
			body: { name: "Seedy" },
		});
		expect(created.status).toBe(201);
		const id = created.body.id;
		const get = (path: string) => app.request("GET", path, { token: a.accessToken });
		expect((await get(`/api/contacts/${id}`)).body).toEqual((await get(`/api/v1/contacts/${id}`)).body);
		expect((await get(`/api/contacts/${id}`)).body).toEqual(created.body);
		expect((await get("/api/contacts?limit=100")).body).toEqual(
			(await get("/api/v1/contacts?limit=100")).body,
		);

		const updated = await app.request("POST", `/api/contacts/${id}`, {
			token: a.accessToken,
			body: { note: "via seed" },
		});
		expect(updated.status).toBe(200);
		expect(updated.body).toEqual((await get(`/api/v1/contacts/${id}`)).body);
		expect(updated.body.note).toBe("via seed");

		const tx = await app.request("POST", "/api/transactions", {
			token: a.accessToken,
			body: { contactId: id, kind: "lent", currency: "EUR", amount: "3.50", occurredOn: "2026-01-01" },
		});
		expect(tx.status).toBe(201);
		expect((await get(`/api/v1/transactions/${tx.body.id}`)).body).toEqual(tx.body);
		expect((await get(`/api/transactions?contactId=${id}`)).body).toEqual(
			(await get(`/api/v1/transactions?contactId=${id}`)).body,
		);
		// Validation is the same too.
		const bad = await app.request("POST", "/api/transactions", {
			token: a.accessToken,
			body: { contactId: id, kind: "lent", currency: "JPY", amount: "3.5", occurredOn: "2026-01-01" },
		});
		expect(bad.status).toBe(422);
		expect((await app.request("GET", "/api/contacts")).status).toBe(401);

		expect((await app.request("DELETE", `/api/contacts/${id}`, { token: a.accessToken })).status).toBe(204);
		expect((await get(`/api/v1/contacts/${id}`)).status).toBe(404);
	});

	test("register and login under /api/auth are the v1 handlers", async () => {
		const email = `${crypto.randomUUID()}@example.com`;
		const reg = await app.request("POST", "/api/auth/register", {
			body: { email, password: "correct horse battery", displayName: "Seed" },
		});
		expect(reg.status).toBe(201);
		const v1 = await register(app);
		expect(v1.accessToken).toBeString();
		const v1Login = await app.request("POST", "/api/v1/auth/login", {
			body: { email, password: "correct horse battery" },
		});
		const login = await app.request("POST", "/api/auth/login", {
			body: { email, password: "correct horse battery" },
		});
		expect(login.status).toBe(200);
		expect(Object.keys(login.body).sort()).toEqual(Object.keys(v1Login.body).sort());
		expect(login.body.user).toEqual(v1Login.body.user);
		const wrong = await app.request("POST", "/api/auth/login", {
			body: { email, password: "wrong password!!" },
		});
		expect(wrong.status).toBe(401);
		expect(wrong.body.error.code).toBe("invalid_credentials");
		const me = await app.request("GET", "/api/v1/users/me", { token: login.body.accessToken });
		expect(me.body.email).toBe(email);
	});

	test("Swagger marks them as seed-compatible aliases, not deprecated", () => {
		const aliases = [
			["get", "/api/contacts"],
			["post", "/api/contacts"],
			["get", "/api/contacts/{id}"],
			["post", "/api/contacts/{id}"],
			["delete", "/api/contacts/{id}"],
			["get", "/api/transactions"],
			["post", "/api/transactions"],
			["post", "/api/auth/register"],
			["post", "/api/auth/login"],
		] as const;
		for (const [method, path] of aliases) {
			const op = doc.paths[path]?.[method];
			expect({ path, method, tags: op?.tags, deprecated: op?.deprecated }).toEqual({
				path,
				method,
				tags: ["seed-001 aliases"],
				deprecated: false,
			});
			expect(op.summary).toStartWith("Seed-compatible alias of ");
		}
	});
});
