/** Helpers the debts tests share: contacts, transactions and balances over HTTP, and the ledger's own sums. */
import { afterAll, beforeAll, expect } from "bun:test";
import { startTestApp, type TestApp } from "./app.ts";
import { type Registered, register } from "./tokens.ts";

/**
 * The test file's app and one registered user: started before its tests,
 * stopped after them. `ready` hands both over, for the file's own variables:
 * `withSignedInUser((x, u) => { [app, a] = [x, u]; })`.
 */
export function withSignedInUser(ready: (app: TestApp, user: Registered) => void) {
	let app: TestApp | undefined;
	beforeAll(async () => {
		app = await startTestApp();
		ready(app, await register(app));
	});
	afterAll(async () => {
		await app?.stop();
	});
}

/**
 * Holds the contact's row lock (`select … for update`, the lock every write
 * of the contact takes first) in a transaction of its own; resolves once it
 * is held. `release()` ends that transaction.
 */
export async function holdContactRow(app: TestApp, contactId: string) {
	let release!: () => void;
	const held = new Promise<void>((r) => {
		release = r;
	});
	let locked!: () => void;
	const isLocked = new Promise<void>((r) => {
		locked = r;
	});
	const holder = app.db.sql.begin(async (t) => {
		await t`select id from contacts where id = ${contactId} for update`;
		locked();
		await held;
	});
	await isLocked;
	return {
		async release() {
			release();
			await holder;
		},
	};
}

export async function createContact(app: TestApp, token: string, body: Record<string, unknown> = {}) {
	const res = await app.request("POST", "/api/v1/contacts", { token, body: { name: "Alice", ...body } });
	expect(res.status).toBe(201);
	return res.body as { id: string; name: string };
}

/** `POST /api/v1/transactions` (a EUR debt lent on 2026-03-01 unless `body` says otherwise), the response as it is. */
export const postTransaction = (app: TestApp, token: string, body: Record<string, unknown>) =>
	app.request("POST", "/api/v1/transactions", {
		token,
		body: { kind: "lent", currency: "EUR", occurredOn: "2026-03-01", ...body },
	});

export async function createTransaction(app: TestApp, token: string, body: Record<string, unknown>) {
	const res = await postTransaction(app, token, body);
	if (res.status !== 201) throw new Error(`create transaction: ${res.status} ${JSON.stringify(res.body)}`);
	return res.body as { id: string; amountMinor: number; status: string; currency: string; kind: string };
}

/** The contact's balances as `{ EUR: 1250, … }` from the API. */
export async function balances(app: TestApp, token: string, contactId: string, asOf?: string) {
	const q = asOf ? `?asOf=${encodeURIComponent(asOf)}` : "";
	const res = await app.request("GET", `/api/v1/contacts/${contactId}/balance${q}`, { token });
	expect(res.status).toBe(200);
	return Object.fromEntries(
		(res.body.balances as { currency: string; balanceMinor: number }[]).map((b) => [
			b.currency,
			b.balanceMinor,
		]),
	);
}

/** Cached balance and the sum of entries of one (contact, currency), from the database. */
export async function ledgerSums(app: TestApp, contactId: string, currency: string) {
	const [row] = await app.db.sql<{ cached: string | null; entries: string }[]>`
		select (select balance_minor::text from balances where contact_id = ${contactId} and currency = ${currency}) as cached,
		       (select coalesce(sum(delta_minor), 0)::text from ledger_entries
		        where contact_id = ${contactId} and currency = ${currency}) as entries`;
	return { cached: BigInt(row!.cached ?? "0"), entries: BigInt(row!.entries) };
}

export const tableCounts = async (app: TestApp) =>
	(
		await app.db.sql<{ contacts: number; transactions: number; entries: number; allocations: number }[]>`
			select (select count(*)::int from contacts) as contacts,
			       (select count(*)::int from transactions) as transactions,
			       (select count(*)::int from ledger_entries) as entries,
			       (select count(*)::int from allocations) as allocations`
	)[0]!;
