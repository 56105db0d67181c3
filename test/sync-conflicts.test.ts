/**
 * Sync conflicts, per field: edits of different fields merge; the money
 * fields are one group, changed on both sides they keep the server's values
 * (`conflict`); text is last-write-wins in arrival order; an edit of a
 * deleted row is `gone`; a device clock set to 2099 decides nothing; a REST
 * write committing during a push (held open) is merged against, or `gone`.
 * Every case ends with both devices holding the server's state.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { createContactService } from "../src/debts/contacts-service.ts";
import { createTransactionService } from "../src/debts/transactions-service.ts";
import { mergeUpdate } from "../src/sync/conflicts.ts";
import { scopedSql } from "../src/sync/scoped-sql.ts";
import type { TestApp } from "./support/app.ts";
import { createContact, createTransaction, withSignedInUser } from "./support/debts.ts";
import { Device, holdTransaction, serverState, sorted } from "./support/sync.ts";
import type { Registered } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

let app: TestApp;
let user: Registered;
withSignedInUser((a, u) => {
	[app, user] = [a, u];
});

let phone: Device;
let laptop: Device;
let txKey: string;
let txId: string;

beforeEach(async () => {
	const c = await createContact(app, user.accessToken, { name: `C ${crypto.randomUUID()}` });
	const t = await createTransaction(app, user.accessToken, {
		contactId: c.id,
		amountMinor: 1000,
		description: "lunch",
	});
	txId = t.id;
	txKey = `transaction/${t.id}`;
	phone = new Device(app, user.accessToken);
	laptop = new Device(app, user.accessToken);
	await phone.pull();
	await laptop.pull();
});

/** Both devices push what they queued (phone first), then pull: they must hold the server's rows. */
async function syncBoth() {
	const first = await phone.push();
	const second = await laptop.push();
	await phone.pull();
	await laptop.pull();
	const server = await serverState(app, user.userId);
	expect(sorted(phone.state)).toEqual(sorted(server));
	expect(sorted(laptop.state)).toEqual(sorted(server));
	return { first, second, server };
}

const update = (d: Device, args: Record<string, unknown>) =>
	d.mutate("updateTransaction", { id: txId, ...args }, d.baseOf(txKey, args));

describe("conflicts", () => {
	test("different fields of one transaction, edited offline on two devices, merge", async () => {
		update(phone, { description: "team lunch" });
		update(laptop, { amountMinor: 1500 });
		const { first, second, server } = await syncBoth();
		expect(first.results[0].status).toBe("applied");
		expect(second.results[0].status).toBe("applied");
		expect(server.get(txKey)).toMatchObject({ description: "team lunch", amountMinor: 1500 });
	});

	test("both edit the amount: the second is a conflict that keeps the server's value; both converge", async () => {
		update(phone, { amountMinor: 1200, description: "phone" });
		update(laptop, { amountMinor: 1300, description: "laptop" });
		const { first, second, server } = await syncBoth();
		expect(first.results[0].status).toBe("applied");
		expect(second.results[0]).toEqual({
			id: 1,
			status: "conflict",
			conflicts: [{ field: "amountMinor", server: 1200, yours: 1300, base: 1000 }],
		});
		// The money field kept the server's value; the text field is the later arrival's.
		expect(server.get(txKey)).toMatchObject({ amountMinor: 1200, description: "laptop" });
		const [entries] = await app.db.sql`
			select coalesce(sum(delta_minor), 0)::int as sum from ledger_entries where transaction_id = ${txId}`;
		expect(entries!.sum).toBe(1200);
	});

	test("a change of currency or kind on both sides is a conflict too; the same change on both is not", async () => {
		update(phone, { currency: "USD", kind: "borrowed" });
		update(laptop, { currency: "GBP", kind: "borrowed" });
		const { second, server } = await syncBoth();
		expect(second.results[0].status).toBe("conflict");
		expect(second.results[0].conflicts).toEqual([
			{ field: "currency", server: "USD", yours: "GBP", base: "EUR" },
		]);
		expect(server.get(txKey)).toMatchObject({ currency: "USD", kind: "borrowed" });
	});

	test("delete on one device, edit on the other: deleted on both, the editor is told gone", async () => {
		phone.mutate("deleteTransaction", { id: txId });
		update(laptop, { description: "edited" });
		const { first, second, server } = await syncBoth();
		expect(first.results[0].status).toBe("applied");
		expect(second.results[0]).toEqual({ id: 1, status: "gone" });
		expect(server.has(txKey)).toBe(false);
		expect(laptop.state.has(txKey)).toBe(false);
		const [row] = await app.db.sql`select description, deleted_at from transactions where id = ${txId}`;
		expect(row!.description).toBe("lunch");
		expect(row!.deleted_at).not.toBeNull();
		// Restore is explicit: after it, the row is back on both devices.
		laptop.mutate("restoreTransaction", { id: txId });
		await syncBoth();
		expect(laptop.state.get(txKey)).toMatchObject({ description: "lunch" });
	});

	test("text fields are last-write-wins by arrival, whatever the device clocks say", async () => {
		// The phone's clock says 2099: its stamps travel along and are ignored.
		phone.mutate(
			"updateTransaction",
			{ id: txId, description: "from 2099", updatedAt: "2099-01-01T00:00:00Z" },
			{ description: "lunch", updatedAt: "2099-01-01T00:00:00Z" },
		);
		update(laptop, { description: "from today" });
		const { server } = await syncBoth();
		expect(server.get(txKey)!.description).toBe("from today");
		expect(new Date(server.get(txKey)!.updatedAt).getUTCFullYear()).toBe(new Date().getUTCFullYear());
	});

	test("a business date from a 2099 clock is rejected (out of range), consumed, and changes nothing", async () => {
		const c = await createContact(app, user.accessToken, { name: "Clock" });
		phone.mutate("createTransaction", {
			id: Bun.randomUUIDv7(),
			contactId: c.id,
			kind: "lent",
			amountMinor: 1,
			currency: "EUR",
			occurredOn: "2099-06-01",
		});
		update(phone, { occurredOn: "1850-01-01" });
		const res = await phone.push();
		expect(res.results.map((r: any) => [r.status, r.error?.details])).toEqual([
			["rejected", { field: "occurredOn", reason: "out_of_range" }],
			["rejected", { field: "occurredOn", reason: "out_of_range" }],
		]);
		expect(res.lastMutationIds[phone.clientId]).toBe(2);
		const rows = await app.db.sql`select 1 from transactions where contact_id = ${c.id}`;
		expect(rows.length).toBe(0);
	});
});

describe("a REST write committing during a push", () => {
	test("the push waits for it and merges against it: the amount is a conflict, not overwritten", async () => {
		update(phone, { amountMinor: 1500, description: "phone" });
		// A REST update (the real service) inside a transaction the test holds open: it has the contact's lock.
		let release!: () => void;
		const held = new Promise<void>((r) => {
			release = r;
		});
		let edited!: () => void;
		const isEdited = new Promise<void>((r) => {
			edited = r;
		});
		const rest = app.db.sql.begin(async (tx) => {
			await createTransactionService({ sql: scopedSql(tx) }).update(user.userId, txId, { amountMinor: 2000 });
			edited();
			await held;
		});
		await isEdited;
		const push = phone.rawPush();
		await eventually(
			async () =>
				(
					await app.db.sql`
						select 1 from pg_stat_activity
						where datname = current_database() and wait_event_type = 'Lock' and query ilike '%contacts%'`
				).length > 0,
			{ what: "the push waiting for the contact's lock" },
		);
		release();
		await rest;
		const res = await push;
		expect(res.status).toBe(200);
		expect(res.body.results[0]).toEqual({
			id: 1,
			status: "conflict",
			conflicts: [{ field: "amountMinor", server: 2000, yours: 1500, base: 1000 }],
		});
		const [row] = await app.db
			.sql`select amount_minor::int as a, description from transactions where id = ${txId}`;
		expect(row).toEqual({ a: 2000, description: "phone" });
	});
	test("a REST delete committing during a push: the push's delete and edit are gone, not 404", async () => {
		const c = await createContact(app, user.accessToken, { name: `Held ${crypto.randomUUID()}` });
		phone.mutate("deleteTransaction", { id: txId });
		laptop.mutate("updateContact", { id: c.id, note: "edited" });
		const holder = await holdTransaction(app, async (tx) => {
			await createTransactionService({ sql: scopedSql(tx) }).remove(user.userId, txId);
			await createContactService({ sql: scopedSql(tx) }).remove(user.userId, c.id);
		});
		const pushes = [phone.rawPush(), laptop.rawPush()];
		await eventually(
			async () =>
				(
					await app.db.sql`
						select 1 from pg_stat_activity
						where datname = current_database() and wait_event_type = 'Lock' and query ilike '%contacts%'`
				).length >= 2,
			{ what: "both pushes waiting for a contact's lock" },
		);
		await holder.release();
		const [del, edit] = await Promise.all(pushes);
		expect(del!.body.results).toEqual([{ id: 1, status: "gone" }]);
		expect(edit!.body.results).toEqual([{ id: 1, status: "gone" }]);
		const [row] = await app.db.sql`select note from contacts where id = ${c.id}`;
		expect(row!.note).toBe("");
	});
});

describe("money as one group", () => {
	test("an amount edited against a currency the server changed is a conflict: the server's money stays", async () => {
		update(phone, { currency: "USD" });
		laptop.mutate(
			"updateTransaction",
			{ id: txId, amountMinor: 1300 },
			{ amountMinor: 1000, currency: "EUR" },
		);
		const { second, server } = await syncBoth();
		expect(second.results[0]).toEqual({
			id: 1,
			status: "conflict",
			conflicts: [{ field: "amountMinor", server: 1000, yours: 1300, base: 1000 }],
		});
		expect(server.get(txKey)).toMatchObject({ currency: "USD", amountMinor: 1000 });
	});

	test("decimal amounts are read in the currency the device saw (base.currency), not the row's new one", async () => {
		update(phone, { currency: "JPY" }); // 1000 minor units: 10.00 EUR became 1000 JPY
		laptop.mutate("updateTransaction", { id: txId, amount: "12.50" }, { amount: "10.00", currency: "EUR" });
		const { second, server } = await syncBoth();
		expect(second.results[0]).toEqual({
			id: 1,
			status: "conflict",
			conflicts: [{ field: "amountMinor", server: 1000, yours: 1250, base: 1000 }],
		});
		expect(server.get(txKey)).toMatchObject({ currency: "JPY", amountMinor: 1000 });
	});
});

describe("mergeUpdate", () => {
	const money = ["amountMinor", "currency", "kind", "contactId"];
	test("without base every field applies; with base only money fields changed on both sides are kept", () => {
		expect(mergeUpdate({ id: "x", amountMinor: 2 }, undefined, { amountMinor: 5 }, money)).toEqual({
			change: { amountMinor: 2 },
			conflicts: [],
		});
		expect(
			mergeUpdate(
				{ amountMinor: 2, description: "b", currency: "EUR" },
				{ amountMinor: 1, description: "a", currency: "EUR" },
				{ amountMinor: 5, description: "z", currency: "EUR" },
				money,
			),
		).toEqual({
			change: { description: "b" },
			conflicts: [{ field: "amountMinor", server: 5, yours: 2, base: 1 }],
		});
	});

	test("money is one group: a server change of any money field keeps all the server's money values", () => {
		// The device changed the amount; the server changed the currency it was in.
		expect(
			mergeUpdate(
				{ amountMinor: 1500, description: "d" },
				{ amountMinor: 1000, currency: "EUR" },
				{ amountMinor: 1000, currency: "USD" },
				money,
			),
		).toEqual({
			change: { description: "d" },
			conflicts: [{ field: "amountMinor", server: 1000, yours: 1500, base: 1000 }],
		});
		// The device changed currency and amount; the server changed the amount: neither of the device's applies.
		expect(
			mergeUpdate(
				{ currency: "USD", amountMinor: 1100 },
				{ currency: "EUR", amountMinor: 1000 },
				{ currency: "EUR", amountMinor: 1200 },
				money,
			),
		).toEqual({
			change: {},
			conflicts: [
				{ field: "currency", server: "EUR", yours: "USD", base: "EUR" },
				{ field: "amountMinor", server: 1200, yours: 1100, base: 1000 },
			],
		});
		// The device's money values are the server's: no conflict, whatever else the server changed.
		expect(
			mergeUpdate(
				{ kind: "borrowed" },
				{ kind: "lent", currency: "EUR" },
				{ kind: "borrowed", currency: "USD" },
				money,
			),
		).toEqual({ change: { kind: "borrowed" }, conflicts: [] });
	});
});
