/**
 * Debts over HTTP: contacts CRUD with paging and search, transactions with
 * money edge cases (ISO decimals, 2^53-1 round trip, 2^53 refused), the
 * ledger under edits, soft delete and restore (contact and transaction) and
 * their effect on balances, client-chosen UUID v7 ids.
 * Settle-up: debts-settle.test.ts; BOLA and the seed aliases: debts-access.test.ts.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import type { TestApp } from "./support/app.ts";
import {
	balances,
	createContact,
	createTransaction,
	ledgerSums,
	tableCounts,
	withSignedInUser,
} from "./support/debts.ts";
import type { Registered } from "./support/tokens.ts";

setDefaultTimeout(30_000);

let app: TestApp;
let a: Registered;
withSignedInUser((x, u) => {
	[app, a] = [x, u];
});

const post = (path: string, body: unknown, token = a.accessToken) =>
	app.request("POST", path, { token, body });

describe("contacts", () => {
	test("create, get, list with search and paging, update", async () => {
		const bob = await createContact(app, a.accessToken, { name: "  Bob Builder ", email: "bob@example.com" });
		expect(bob).toMatchObject({
			name: "Bob Builder",
			email: "bob@example.com",
			phone: null,
			note: "",
			deletedAt: null,
		});
		await createContact(app, a.accessToken, { name: "Carla" });
		await createContact(app, a.accessToken, { name: "bobby" });
		const all = await app.request("GET", "/api/v1/contacts?limit=2", { token: a.accessToken });
		expect(all.status).toBe(200);
		expect(all.body.items).toHaveLength(2);
		expect(all.body.total).toBeGreaterThanOrEqual(3);
		const found = await app.request("GET", "/api/v1/contacts?q=BOB", { token: a.accessToken });
		expect(found.body.items.map((c: { name: string }) => c.name)).toEqual(["Bob Builder", "bobby"]);
		const patched = await app.request("PATCH", `/api/v1/contacts/${bob.id}`, {
			token: a.accessToken,
			body: { phone: "+49 30 1234", email: null, note: "neighbour" },
		});
		expect(patched.status).toBe(200);
		expect(patched.body).toMatchObject({ phone: "+49 30 1234", email: null, note: "neighbour" });
		expect((await app.request("GET", `/api/v1/contacts/${bob.id}`, { token: a.accessToken })).body).toEqual(
			patched.body,
		);
	});

	test("invalid input is 422 and writes nothing", async () => {
		const before = await tableCounts(app);
		for (const body of [
			{ name: "" },
			{ name: "   " },
			{ name: "x".repeat(201) },
			{ name: "A", email: "not-an-email" },
			{ name: "A", id: crypto.randomUUID() }, // v4, not v7
			{},
		]) {
			const res = await post("/api/v1/contacts", body);
			expect({ body, status: res.status }).toEqual({ body, status: 422 });
			expect(typeof res.body.error.code).toBe("string");
		}
		expect(await tableCounts(app)).toEqual(before);
	});

	test("a client-chosen UUID v7 id is kept; the same id again is 409", async () => {
		const id = Bun.randomUUIDv7();
		const res = await post("/api/v1/contacts", { id, name: "Dora" });
		expect(res.status).toBe(201);
		expect(res.body.id).toBe(id);
		const again = await post("/api/v1/contacts", { id, name: "Dora again" });
		expect(again.status).toBe(409);
		expect(again.body.error.details).toMatchObject({ field: "id", reason: "id_taken" });
	});
});

describe("money", () => {
	test("amountMinor or a decimal amount in the currency's ISO 4217 digits", async () => {
		const c = await createContact(app, a.accessToken);
		const usd = await createTransaction(app, a.accessToken, {
			contactId: c.id,
			currency: "USD",
			amount: "12.50",
		});
		expect(usd).toMatchObject({ amountMinor: 1250, amount: "12.50", currency: "USD" });
		const jpy = await createTransaction(app, a.accessToken, {
			contactId: c.id,
			currency: "JPY",
			amount: "1200",
		});
		expect(jpy).toMatchObject({ amountMinor: 1200, amount: "1200" });
		const bhd = await createTransaction(app, a.accessToken, {
			contactId: c.id,
			currency: "BHD",
			amount: "1.005",
		});
		expect(bhd).toMatchObject({ amountMinor: 1005, amount: "1.005" });
		const trailing = await createTransaction(app, a.accessToken, {
			contactId: c.id,
			currency: "JPY",
			amount: "5.000",
		});
		expect(trailing.amountMinor).toBe(5);
	});

	test("too many decimals, unknown currency, zero, negative, both forms, none: 422, nothing written", async () => {
		const c = await createContact(app, a.accessToken);
		const before = await tableCounts(app);
		const cases: [Record<string, unknown>, string][] = [
			[{ currency: "JPY", amount: "12.5" }, "amount"],
			[{ currency: "USD", amount: "1.005" }, "amount"],
			[{ currency: "XYZ", amountMinor: 100 }, "currency"],
			[{ currency: "eur", amountMinor: 100 }, "currency"],
			[{ amountMinor: 0 }, "amountMinor"],
			[{ amountMinor: -5 }, "amountMinor"],
			[{ amount: "0.00" }, "amount"],
			[{ amount: "-1.00" }, "amount"],
			[{ amountMinor: 1.5 }, "amountMinor"],
			[{ amountMinor: "100" }, "amountMinor"],
			[{ amountMinor: 100, amount: "1.00" }, "amount"],
			[{}, "amountMinor"],
		];
		for (const [money, field] of cases) {
			const res = await post("/api/v1/transactions", {
				contactId: c.id,
				kind: "lent",
				occurredOn: "2026-03-01",
				currency: "EUR",
				...money,
			});
			expect({ money, status: res.status }).toEqual({ money, status: 422 });
			const details = res.body.error.details;
			const fields = details.field
				? [details.field]
				: details.issues.map((i: { path: string }) => i.path.slice(1));
			expect({ money, named: fields.includes(field) }).toEqual({ money, named: true });
		}
		expect(await tableCounts(app)).toEqual(before);
	});

	test("2^53-1 minor units round-trip exactly; 2^53 is refused", async () => {
		const c = await createContact(app, a.accessToken);
		const max = Number.MAX_SAFE_INTEGER;
		const t = await createTransaction(app, a.accessToken, { contactId: c.id, amountMinor: max });
		expect(t.amountMinor).toBe(max);
		expect(
			(await app.request("GET", `/api/v1/transactions/${t.id}`, { token: a.accessToken })).body.amountMinor,
		).toBe(max);
		expect(await balances(app, a.accessToken, c.id)).toEqual({ EUR: max });
		const [row] = await app.db.sql`select amount_minor::text as a from transactions where id = ${t.id}`;
		expect(row!.a).toBe("9007199254740991");
		const before = await tableCounts(app);
		// 2^53 as JSON text (JSON.stringify of the number would already be 2^53).
		const res = await app.app.handle(
			new Request("http://localhost/api/v1/transactions", {
				method: "POST",
				headers: { authorization: `Bearer ${a.accessToken}`, "content-type": "application/json" },
				body: `{"contactId":"${c.id}","kind":"lent","currency":"EUR","occurredOn":"2026-03-01","amountMinor":9007199254740992}`,
			}),
		);
		expect(res.status).toBe(422);
		const dec = await post("/api/v1/transactions", {
			contactId: c.id,
			kind: "lent",
			currency: "EUR",
			occurredOn: "2026-03-01",
			amount: "90071992547409.92",
		});
		expect(dec.status).toBe(422);
		// A balance that would leave the exact range is refused too.
		const more = await post("/api/v1/transactions", {
			contactId: c.id,
			kind: "lent",
			currency: "EUR",
			occurredOn: "2026-03-01",
			amountMinor: 1,
		});
		expect(more.status).toBe(422);
		expect(more.body.error.details.reason).toBe("balance_out_of_range");
		expect(await tableCounts(app)).toEqual(before);
	});

	test("impossible dates are 422, not a database error", async () => {
		const c = await createContact(app, a.accessToken);
		for (const occurredOn of ["2026-02-30", "0000-01-01", "2026-13-01"]) {
			const res = await post("/api/v1/transactions", {
				contactId: c.id,
				kind: "lent",
				currency: "EUR",
				amountMinor: 1,
				occurredOn,
			});
			expect({ occurredOn, status: res.status }).toEqual({ occurredOn, status: 422 });
		}
		const q = await app.request("GET", "/api/v1/transactions?from=2026-02-31", { token: a.accessToken });
		expect(q.status).toBe(422);
	});
});

describe("transactions and the ledger", () => {
	test("sign convention: lent +, borrowed -, payment_in -, payment_out +; currencies never mix", async () => {
		const c = await createContact(app, a.accessToken);
		await createTransaction(app, a.accessToken, { contactId: c.id, kind: "lent", amountMinor: 10_000 });
		await createTransaction(app, a.accessToken, { contactId: c.id, kind: "borrowed", amountMinor: 2_500 });
		await createTransaction(app, a.accessToken, { contactId: c.id, kind: "payment_in", amountMinor: 1_000 });
		await createTransaction(app, a.accessToken, { contactId: c.id, kind: "payment_out", amountMinor: 300 });
		await createTransaction(app, a.accessToken, {
			contactId: c.id,
			kind: "borrowed",
			currency: "USD",
			amountMinor: 700,
		});
		expect(await balances(app, a.accessToken, c.id)).toEqual({ EUR: 6_800, USD: -700 });
		const list = await app.request("GET", "/api/v1/balances", { token: a.accessToken });
		const mine = list.body.items.filter((i: { contactId: string }) => i.contactId === c.id);
		expect(
			mine.map((i: { currency: string; balanceMinor: number; balance: string }) => [
				i.currency,
				i.balanceMinor,
				i.balance,
			]),
		).toEqual([
			["EUR", 6_800, "68.00"],
			["USD", -700, "-7.00"],
		]);
		// Paging: the total stays right on a full page and past the end.
		const total = list.body.total;
		expect(total).toBe(list.body.items.length);
		const one = await app.request("GET", "/api/v1/balances?limit=1&offset=1", { token: a.accessToken });
		expect(one.body).toMatchObject({ total });
		expect(one.body.items).toEqual([list.body.items[1]]);
		const past = await app.request("GET", `/api/v1/balances?offset=${total + 5}`, { token: a.accessToken });
		expect(past.body).toEqual({ asOf: null, items: [], total });
	});

	test("edit posts a reversal and a new entry; delete a reversal; restore re-posts", async () => {
		const c = await createContact(app, a.accessToken);
		const t = await createTransaction(app, a.accessToken, { contactId: c.id, amountMinor: 5_000 });
		const edited = await app.request("PATCH", `/api/v1/transactions/${t.id}`, {
			token: a.accessToken,
			body: { amountMinor: 4_000, currency: "USD", description: "lunch" },
		});
		expect(edited.status).toBe(200);
		expect(edited.body).toMatchObject({ amountMinor: 4_000, currency: "USD", description: "lunch" });
		expect(await balances(app, a.accessToken, c.id)).toEqual({ EUR: 0, USD: 4_000 });
		const entries = async () =>
			(
				await app.db.sql<{ currency: string; delta: string; reason: string }[]>`
					select currency, delta_minor::text as delta, reason from ledger_entries
					where transaction_id = ${t.id} order by id`
			).map((e) => [e.reason, e.currency, e.delta]);
		expect(await entries()).toEqual([
			["create", "EUR", "5000"],
			["edit", "EUR", "-5000"],
			["edit", "USD", "4000"],
		]);
		// A description-only edit touches no money: no entries.
		await app.request("PATCH", `/api/v1/transactions/${t.id}`, {
			token: a.accessToken,
			body: { description: "x" },
		});
		expect(await entries()).toHaveLength(3);

		expect(
			(await app.request("DELETE", `/api/v1/transactions/${t.id}`, { token: a.accessToken })).status,
		).toBe(204);
		expect(await balances(app, a.accessToken, c.id)).toEqual({ EUR: 0, USD: 0 });
		expect((await app.request("GET", `/api/v1/transactions/${t.id}`, { token: a.accessToken })).status).toBe(
			404,
		);
		const deleted = await app.request("GET", `/api/v1/transactions?contactId=${c.id}&includeDeleted=true`, {
			token: a.accessToken,
		});
		expect(deleted.body.items[0].deletedAt).not.toBeNull();
		const restored = await post(`/api/v1/transactions/${t.id}/restore`, undefined);
		expect(restored.status).toBe(200);
		expect(restored.body.deletedAt).toBeNull();
		expect(await balances(app, a.accessToken, c.id)).toEqual({ EUR: 0, USD: 4_000 });
		expect((await entries()).map((e) => e[0])).toEqual(["create", "edit", "edit", "delete", "restore"]);
		// Entries are append-only.
		await expect(
			app.db.sql`update ledger_entries set delta_minor = 1 where transaction_id = ${t.id}`,
		).rejects.toThrow(/append-only/);
		for (const cur of ["EUR", "USD"]) {
			const s = await ledgerSums(app, c.id, cur);
			expect(s.cached).toBe(s.entries);
		}
	});

	test("filters: contact, kind, currency, status, occurredOn range", async () => {
		const c = await createContact(app, a.accessToken);
		const other = await createContact(app, a.accessToken);
		await createTransaction(app, a.accessToken, {
			contactId: c.id,
			kind: "lent",
			amountMinor: 1,
			occurredOn: "2026-01-10",
		});
		await createTransaction(app, a.accessToken, {
			contactId: c.id,
			kind: "borrowed",
			amountMinor: 2,
			occurredOn: "2026-02-10",
			currency: "USD",
		});
		await createTransaction(app, a.accessToken, {
			contactId: c.id,
			kind: "lent",
			amountMinor: 3,
			occurredOn: "2026-03-10",
		});
		await createTransaction(app, a.accessToken, {
			contactId: other.id,
			kind: "lent",
			amountMinor: 4,
			occurredOn: "2026-03-10",
		});
		const amounts = async (q: string) =>
			(await app.request("GET", `/api/v1/transactions?${q}`, { token: a.accessToken })).body.items
				.map((t: { amountMinor: number }) => t.amountMinor)
				.sort();
		expect(await amounts(`contactId=${c.id}`)).toEqual([1, 2, 3]);
		expect(await amounts(`contactId=${c.id}&kind=lent`)).toEqual([1, 3]);
		expect(await amounts(`contactId=${c.id}&currency=USD`)).toEqual([2]);
		expect(await amounts(`contactId=${c.id}&status=open`)).toEqual([1, 2, 3]);
		expect(await amounts(`contactId=${c.id}&from=2026-02-01&to=2026-03-10`)).toEqual([2, 3]);
		const page = await app.request("GET", `/api/v1/transactions?contactId=${c.id}&limit=1&offset=1`, {
			token: a.accessToken,
		});
		expect(page.body).toMatchObject({ total: 3 });
		expect(page.body.items).toHaveLength(1);
	});

	test("asOf: a date counts what occurred by then; an instant replays the entries posted by then", async () => {
		const c = await createContact(app, a.accessToken);
		await createTransaction(app, a.accessToken, {
			contactId: c.id,
			amountMinor: 100,
			occurredOn: "2026-01-01",
		});
		const t2 = await createTransaction(app, a.accessToken, {
			contactId: c.id,
			amountMinor: 50,
			occurredOn: "2026-02-01",
		});
		const [mark] = await app.db.sql<{ now: Date }[]>`select clock_timestamp() as now`;
		await app.request("DELETE", `/api/v1/transactions/${t2.id}`, { token: a.accessToken });
		expect(await balances(app, a.accessToken, c.id)).toEqual({ EUR: 100 });
		expect(await balances(app, a.accessToken, c.id, "2026-01-15")).toEqual({ EUR: 100 });
		expect(await balances(app, a.accessToken, c.id, "2025-12-31")).toEqual({});
		expect(await balances(app, a.accessToken, c.id, mark!.now.toISOString())).toEqual({ EUR: 150 });
		const bad = await app.request("GET", `/api/v1/contacts/${c.id}/balance?asOf=2026-02-30`, {
			token: a.accessToken,
		});
		expect(bad.status).toBe(422);
	});
});

describe("soft delete and restore of a contact", () => {
	test("its transactions follow (same instant); balances go to 0 and come back; earlier deletions stay", async () => {
		const c = await createContact(app, a.accessToken, { name: "Eve" });
		const t1 = await createTransaction(app, a.accessToken, { contactId: c.id, amountMinor: 1_000 });
		const t2 = await createTransaction(app, a.accessToken, {
			contactId: c.id,
			amountMinor: 300,
			currency: "USD",
		});
		const gone = await createTransaction(app, a.accessToken, { contactId: c.id, amountMinor: 77 });
		await app.request("DELETE", `/api/v1/transactions/${gone.id}`, { token: a.accessToken });
		expect(await balances(app, a.accessToken, c.id)).toEqual({ EUR: 1_000, USD: 300 });

		expect((await app.request("DELETE", `/api/v1/contacts/${c.id}`, { token: a.accessToken })).status).toBe(
			204,
		);
		const rows = await app.db.sql<{ id: string; deleted_at: Date }[]>`
			select t.id, t.deleted_at from transactions t where t.contact_id = ${c.id} order by t.id`;
		const [contact] = await app.db.sql<
			{ deleted_at: Date }[]
		>`select deleted_at from contacts where id = ${c.id}`;
		for (const r of rows.filter((r) => r.id !== gone.id))
			expect(r.deleted_at.getTime()).toBe(contact!.deleted_at.getTime());
		expect((await app.request("GET", `/api/v1/contacts/${c.id}`, { token: a.accessToken })).status).toBe(404);
		expect(
			(await app.request("GET", `/api/v1/contacts/${c.id}/balance`, { token: a.accessToken })).status,
		).toBe(404);
		expect((await app.request("GET", `/api/v1/transactions/${t1.id}`, { token: a.accessToken })).status).toBe(
			404,
		);
		const list = await app.request("GET", "/api/v1/balances", { token: a.accessToken });
		expect(list.body.items.some((i: { contactId: string }) => i.contactId === c.id)).toBe(false);
		for (const cur of ["EUR", "USD"])
			expect(await ledgerSums(app, c.id, cur)).toEqual({ cached: 0n, entries: 0n });
		// A transaction of a deleted contact cannot come back alone, nor can one be added to it.
		expect((await post(`/api/v1/transactions/${t1.id}/restore`, undefined)).status).toBe(409);
		expect(
			(
				await post("/api/v1/transactions", {
					contactId: c.id,
					kind: "lent",
					currency: "EUR",
					amountMinor: 1,
					occurredOn: "2026-01-01",
				})
			).status,
		).toBe(404);

		const restored = await post(`/api/v1/contacts/${c.id}/restore`, undefined);
		expect(restored.status).toBe(200);
		expect(restored.body.deletedAt).toBeNull();
		expect(await balances(app, a.accessToken, c.id)).toEqual({ EUR: 1_000, USD: 300 });
		expect((await app.request("GET", `/api/v1/transactions/${t2.id}`, { token: a.accessToken })).status).toBe(
			200,
		);
		expect(
			(await app.request("GET", `/api/v1/transactions/${gone.id}`, { token: a.accessToken })).status,
		).toBe(404);
		// Restoring a live contact changes nothing.
		expect((await post(`/api/v1/contacts/${c.id}/restore`, undefined)).status).toBe(200);
		expect(await balances(app, a.accessToken, c.id)).toEqual({ EUR: 1_000, USD: 300 });
	});
});
