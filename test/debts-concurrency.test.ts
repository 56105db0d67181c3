/**
 * Concurrent writers of one contact serialize on its row (lock order: the
 * contact first), so no balance update is lost and nothing deadlocks; and the
 * daily balance check reports a cached balance that no longer matches its
 * entries (corrupted here by hand) with its keys.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { debtsFeature } from "../src/debts/feature.ts";
import { createLogger } from "../src/infra/log.ts";
import type { TestApp } from "./support/app.ts";
import {
	balances,
	createContact,
	createTransaction,
	holdContactRow,
	ledgerSums,
	withSignedInUser,
} from "./support/debts.ts";
import type { Registered } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

setDefaultTimeout(60_000);

let app: TestApp;
let a: Registered;
withSignedInUser((x, u) => {
	[app, a] = [x, u];
});

const create = (contactId: string, amountMinor: number, kind = "lent") =>
	app.request("POST", "/api/v1/transactions", {
		token: a.accessToken,
		body: { contactId, kind, currency: "EUR", amountMinor, occurredOn: "2026-01-01" },
	});

/** Backends of this test's database waiting for a lock. */
const waiting = async () =>
	(
		await app.db.sql<{ n: number }[]>`
			select count(*)::int as n from pg_stat_activity
			where datname = current_database() and wait_event_type = 'Lock'`
	)[0]!.n;

describe("concurrency", () => {
	test("two writers on one contact wait for its row lock, then both apply (held lock)", async () => {
		const c = await createContact(app, a.accessToken);
		const lock = await holdContactRow(app, c.id);
		const writers = [create(c.id, 100), create(c.id, 250, "borrowed")];
		await eventually(async () => (await waiting()) === 2, {
			what: "both writers blocked on the contact row",
		});
		expect(await ledgerSums(app, c.id, "EUR")).toEqual({ cached: 0n, entries: 0n });
		await lock.release();
		const results = await Promise.all(writers);
		expect(results.map((r) => r.status)).toEqual([201, 201]);
		expect(await balances(app, a.accessToken, c.id)).toEqual({ EUR: -150 });
	});

	test("thirty concurrent writes, edits, a settle and deletes on one contact: no lost update, no deadlock", async () => {
		const c = await createContact(app, a.accessToken);
		const seed = await Promise.all(
			Array.from({ length: 10 }, (_, i) =>
				createTransaction(app, a.accessToken, { contactId: c.id, amountMinor: 100 + i }),
			),
		);
		const ops = [
			...Array.from({ length: 20 }, (_, i) => create(c.id, 1_000 + i)),
			...seed.slice(0, 5).map((t) =>
				app.request("PATCH", `/api/v1/transactions/${t.id}`, {
					token: a.accessToken,
					body: { amountMinor: 1 },
				}),
			),
			...seed
				.slice(5, 8)
				.map((t) => app.request("DELETE", `/api/v1/transactions/${t.id}`, { token: a.accessToken })),
			app.request("POST", `/api/v1/contacts/${c.id}/settle`, {
				token: a.accessToken,
				body: { currency: "EUR", amountMinor: 50, allocations: [] },
			}),
		];
		const results = await Promise.all(ops);
		expect(results.every((r) => r.status < 300)).toBe(true);
		const created = Array.from({ length: 20 }, (_, i) => 1_000 + i).reduce((n, x) => n + x, 0);
		const kept = 5 * 1 + (108 + 109); // five edited to 1, three deleted, two untouched
		expect(await balances(app, a.accessToken, c.id)).toEqual({ EUR: created + kept - 50 });
		const sums = await ledgerSums(app, c.id, "EUR");
		expect(sums.cached).toBe(sums.entries);
	});

	test("deleting a contact while its transactions are written: everything ends consistent", async () => {
		const c = await createContact(app, a.accessToken);
		const results = await Promise.all([
			...Array.from({ length: 10 }, () => create(c.id, 10)),
			app.request("DELETE", `/api/v1/contacts/${c.id}`, { token: a.accessToken }),
			...Array.from({ length: 10 }, () => create(c.id, 10)),
		]);
		expect(results.every((r) => [201, 204, 404].includes(r.status))).toBe(true);
		expect(await ledgerSums(app, c.id, "EUR")).toEqual({ cached: 0n, entries: 0n });
		await app.request("POST", `/api/v1/contacts/${c.id}/restore`, { token: a.accessToken });
		const created = results.filter((r) => r.status === 201).length;
		expect(await balances(app, a.accessToken, c.id)).toEqual(created ? { EUR: created * 10 } : {});
	});
});

describe("daily balance check", () => {
	test("a cached balance that differs from its entries is logged with its keys (and counted)", async () => {
		const lines: Record<string, unknown>[] = [];
		const log = createLogger("warn", {}, (line) => lines.push(JSON.parse(line)));
		const check = debtsFeature.cleanup["balance-check"];
		const c = await createContact(app, a.accessToken);
		await createTransaction(app, a.accessToken, { contactId: c.id, amountMinor: 500 });
		expect(await check(app.db.sql, app.services.config, log)).toBe(0);
		expect(lines).toEqual([]);
		await app.db.sql`update balances set balance_minor = balance_minor + 1 where contact_id = ${c.id}`;
		expect(await check(app.db.sql, app.services.config, log)).toBe(1);
		expect(lines).toHaveLength(1);
		expect(lines[0]).toMatchObject({
			level: "warn",
			msg: "cached balance differs from its ledger entries",
			contactId: c.id,
			currency: "EUR",
			cachedMinor: "501",
			entriesMinor: "500",
		});
		// A missing balance row is drift too.
		await app.db.sql`delete from balances where contact_id = ${c.id}`;
		expect(await check(app.db.sql, app.services.config, log)).toBe(1);
		await app.db
			.sql`insert into balances (contact_id, currency, owner_id, balance_minor) values (${c.id}, 'EUR', ${a.userId}, 500)`;
		expect(await check(app.db.sql, app.services.config, log)).toBe(0);
	});
});
