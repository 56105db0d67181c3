/**
 * Settle-up and allocations: a full settle (oldest due debts paid first), a
 * partial one, explicit allocations (open / partial / settled), every kind of
 * over-allocation is 422 and writes nothing, payments created directly with
 * allocations, and what edits, deletes and restores do to debt statuses.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import type { TestApp } from "./support/app.ts";
import {
	balances,
	createContact,
	createTransaction,
	ledgerSums,
	postTransaction,
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

const settle = (contactId: string, body: Record<string, unknown>) =>
	app.request("POST", `/api/v1/contacts/${contactId}/settle`, { token: a.accessToken, body });
const status = async (id: string) =>
	(await app.request("GET", `/api/v1/transactions/${id}`, { token: a.accessToken })).body.status as string;

describe("settle-up", () => {
	test("the whole balance: a payment_in that pays the oldest due debts first; debts become settled", async () => {
		const c = await createContact(app, a.accessToken);
		const late = await createTransaction(app, a.accessToken, {
			contactId: c.id,
			amountMinor: 300,
			dueDate: "2026-06-01",
		});
		const soon = await createTransaction(app, a.accessToken, {
			contactId: c.id,
			amountMinor: 200,
			dueDate: "2026-04-01",
		});
		const res = await settle(c.id, { currency: "EUR", occurredOn: "2026-05-01" });
		expect(res.status).toBe(201);
		expect(res.body.payment).toMatchObject({
			kind: "payment_in",
			amountMinor: 500,
			status: "settled",
			allocatedMinor: 500,
		});
		expect(res.body.allocations).toEqual([
			{ transactionId: soon.id, amountMinor: 200 },
			{ transactionId: late.id, amountMinor: 300 },
		]);
		expect(res.body.balance).toEqual({ currency: "EUR", balanceMinor: 0, balance: "0.00" });
		expect(await status(soon.id)).toBe("settled");
		expect(await status(late.id)).toBe("settled");
		expect(await balances(app, a.accessToken, c.id)).toEqual({ EUR: 0 });
		// Nothing left to settle.
		const again = await settle(c.id, { currency: "EUR" });
		expect(again.status).toBe(422);
		expect(again.body.error.details.reason).toBe("nothing_to_settle");
	});

	test("part of a negative balance: a payment_out; the first debt becomes partial", async () => {
		const c = await createContact(app, a.accessToken);
		const d1 = await createTransaction(app, a.accessToken, {
			contactId: c.id,
			kind: "borrowed",
			amountMinor: 1_000,
			occurredOn: "2026-01-01",
		});
		const d2 = await createTransaction(app, a.accessToken, {
			contactId: c.id,
			kind: "borrowed",
			amountMinor: 1_000,
			occurredOn: "2026-02-01",
		});
		const res = await settle(c.id, { currency: "EUR", amount: "4.00" });
		expect(res.status).toBe(201);
		expect(res.body.payment).toMatchObject({ kind: "payment_out", amountMinor: 400 });
		expect(res.body.balance.balanceMinor).toBe(-1_600);
		expect(await status(d1.id)).toBe("partial");
		expect(await status(d2.id)).toBe("open");
		const d1View = (await app.request("GET", `/api/v1/transactions/${d1.id}`, { token: a.accessToken })).body;
		expect(d1View.allocatedMinor).toBe(400);
	});

	test("explicit allocations pay exactly those debts ([] pays none)", async () => {
		const c = await createContact(app, a.accessToken);
		const d1 = await createTransaction(app, a.accessToken, { contactId: c.id, amountMinor: 500 });
		const d2 = await createTransaction(app, a.accessToken, { contactId: c.id, amountMinor: 500 });
		const res = await settle(c.id, {
			currency: "EUR",
			amountMinor: 700,
			allocations: [
				{ transactionId: d2.id, amountMinor: 500 },
				{ transactionId: d1.id, amountMinor: 100 },
			],
		});
		expect(res.status).toBe(201);
		expect(await status(d2.id)).toBe("settled");
		expect(await status(d1.id)).toBe("partial");
		expect(res.body.payment.allocatedMinor).toBe(600);
		const none = await settle(c.id, { currency: "EUR", amountMinor: 100, allocations: [] });
		expect(none.status).toBe(201);
		expect(none.body.allocations).toEqual([]);
		expect(await status(d1.id)).toBe("partial");
		expect(await balances(app, a.accessToken, c.id)).toEqual({ EUR: 200 });
	});

	test("over-allocation and settling more than the balance: 422, nothing written", async () => {
		const c = await createContact(app, a.accessToken);
		const other = await createContact(app, a.accessToken);
		const debt = await createTransaction(app, a.accessToken, { contactId: c.id, amountMinor: 500 });
		const owed = await createTransaction(app, a.accessToken, {
			contactId: c.id,
			kind: "borrowed",
			amountMinor: 100,
		});
		const usd = await createTransaction(app, a.accessToken, {
			contactId: c.id,
			amountMinor: 100,
			currency: "USD",
		});
		const elsewhere = await createTransaction(app, a.accessToken, { contactId: other.id, amountMinor: 100 });
		const before = await tableCounts(app);
		const cases: [Record<string, unknown>, string][] = [
			[{ amountMinor: 401 }, "exceeds_balance"],
			[{ amountMinor: 300, allocations: [{ transactionId: debt.id, amountMinor: 301 }] }, "exceeds_payment"],
			[
				{
					allocations: [
						{ transactionId: debt.id, amountMinor: 400 },
						{ transactionId: debt.id, amountMinor: 1 },
					],
				},
				"duplicate",
			],
			[{ allocations: [{ transactionId: owed.id, amountMinor: 50 }] }, "wrong_debt"],
			[{ allocations: [{ transactionId: usd.id, amountMinor: 50 }] }, "wrong_debt"],
			[{ allocations: [{ transactionId: elsewhere.id, amountMinor: 50 }] }, "unknown_debt"],
			[{ allocations: [{ transactionId: crypto.randomUUID(), amountMinor: 50 }] }, "unknown_debt"],
		];
		for (const [body, reason] of cases) {
			const res = await settle(c.id, { currency: "EUR", ...body });
			expect({ body, status: res.status, reason: res.body.error?.details?.reason }).toEqual({
				body,
				status: 422,
				reason,
			});
		}
		// More than the debt's outstanding amount: pay 300 of it first, then try to allocate 201 more.
		const first = await settle(c.id, {
			currency: "EUR",
			amountMinor: 300,
			allocations: [{ transactionId: debt.id, amountMinor: 300 }],
		});
		expect(first.status).toBe(201);
		const mid = await tableCounts(app);
		const over = await postTransaction(app, a.accessToken, {
			contactId: c.id,
			kind: "payment_in",
			amountMinor: 250,
			allocations: [{ transactionId: debt.id, amountMinor: 201 }],
		});
		expect(over.status).toBe(422);
		expect(over.body.error.details).toMatchObject({ reason: "exceeds_outstanding", outstandingMinor: 200 });
		expect(await tableCounts(app)).toEqual(mid);
		expect(mid.transactions).toBe(before.transactions + 1);
		expect(await balances(app, a.accessToken, c.id)).toEqual({ EUR: 100, USD: 100 });
	});

	test("a payment created directly may carry allocations; a debt may not", async () => {
		const c = await createContact(app, a.accessToken);
		const debt = await createTransaction(app, a.accessToken, { contactId: c.id, amountMinor: 500 });
		const pay = await createTransaction(app, a.accessToken, {
			contactId: c.id,
			kind: "payment_in",
			amountMinor: 500,
			allocations: [{ transactionId: debt.id, amountMinor: 500 }],
		});
		expect(pay.status).toBe("settled");
		expect(await status(debt.id)).toBe("settled");
		const bad = await postTransaction(app, a.accessToken, {
			contactId: c.id,
			kind: "lent",
			amountMinor: 5,
			occurredOn: "2026-01-01",
			allocations: [{ transactionId: debt.id, amountMinor: 1 }],
		});
		expect(bad.status).toBe(422);
		expect(bad.body.error.details.reason).toBe("not_a_payment");
	});

	test("edits, deletes and restores keep statuses and allocations consistent", async () => {
		const c = await createContact(app, a.accessToken);
		const debt = await createTransaction(app, a.accessToken, { contactId: c.id, amountMinor: 500 });
		const pay = (await settle(c.id, { currency: "EUR", amountMinor: 300 })).body.payment;
		expect(await status(debt.id)).toBe("partial");
		// The debt cannot drop below what is paid; growing it keeps it partial, shrinking to the paid sum settles it.
		const below = await app.request("PATCH", `/api/v1/transactions/${debt.id}`, {
			token: a.accessToken,
			body: { amountMinor: 299 },
		});
		expect(below.status).toBe(422);
		expect(below.body.error.details.reason).toBe("below_allocated");
		const exact = await app.request("PATCH", `/api/v1/transactions/${debt.id}`, {
			token: a.accessToken,
			body: { amountMinor: 300 },
		});
		expect(exact.body.status).toBe("settled");
		// Kind or currency of an allocated transaction cannot change.
		const kind = await app.request("PATCH", `/api/v1/transactions/${pay.id}`, {
			token: a.accessToken,
			body: { currency: "USD" },
		});
		expect(kind.status).toBe(409);
		// Deleting the payment reopens the debt; restoring it settles it again.
		await app.request("DELETE", `/api/v1/transactions/${pay.id}`, { token: a.accessToken });
		expect(await status(debt.id)).toBe("open");
		expect(
			(await app.request("POST", `/api/v1/transactions/${pay.id}/restore`, { token: a.accessToken })).status,
		).toBe(200);
		expect(await status(debt.id)).toBe("settled");
		// A payment whose debt was paid by another one meanwhile cannot come back (it would over-allocate).
		await app.request("DELETE", `/api/v1/transactions/${pay.id}`, { token: a.accessToken });
		expect((await settle(c.id, { currency: "EUR" })).status).toBe(201);
		const restore = await app.request("POST", `/api/v1/transactions/${pay.id}/restore`, {
			token: a.accessToken,
		});
		expect(restore.status).toBe(409);
		expect(restore.body.error.details.reason).toBe("over_allocated");
		const sums = await ledgerSums(app, c.id, "EUR");
		expect(sums.cached).toBe(sums.entries);
		expect(sums.cached).toBe(0n);
	});
});
