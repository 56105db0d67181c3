/**
 * Property test (fast-check) of the ledger, run against the service layer on
 * a real PostgreSQL: thousands of random creates, edits, deletes, restores
 * (of transactions and contacts) and settle-ups, in EUR and USD. After every
 * operation: each cached balance = the sum of its entries = an independent
 * BigInt model; each transaction's entries sum to its signed amount in its
 * own currency and to zero in every other (EUR and USD never mix); statuses
 * agree with the allocations. Deterministic: `HERALD_TEST_SEED` replays a
 * run, and a failure prints the seed and the shrunk operations.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import { createBalanceService } from "../src/debts/balances-service.ts";
import { createContactService } from "../src/debts/contacts-service.ts";
import type { TransactionKind } from "../src/debts/model.ts";
import { createTransactionService } from "../src/debts/transactions-service.ts";
import { DomainError, NotFound } from "../src/errors.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";

const SEED = Number(process.env.HERALD_TEST_SEED ?? 20261201);
const RUNS = 40;
const MAX_OPS = 130;

let db: TestDatabase;
beforeAll(async () => {
	db = await freshDatabase();
});
afterAll(async () => {
	await db.drop();
});

const KINDS: TransactionKind[] = ["lent", "borrowed", "payment_in", "payment_out"];
const CURRENCIES = ["EUR", "USD"] as const;

type Op =
	| { op: "contact" }
	| { op: "create"; c: number; kind: TransactionKind; amount: number; currency: string }
	| { op: "edit"; t: number; amount?: number; currency?: string; kind?: TransactionKind }
	| { op: "delete"; t: number }
	| { op: "restore"; t: number }
	| { op: "deleteContact"; c: number }
	| { op: "restoreContact"; c: number }
	| { op: "settle"; c: number; currency: string; part?: number };

const amount = fc.integer({ min: 1, max: 5_000_000 });
const currency = fc.constantFrom(...CURRENCIES);
const kind = fc.constantFrom(...KINDS);
const idx = fc.nat({ max: 50 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
	{ arbitrary: fc.constant({ op: "contact" as const }), weight: 1 },
	{ arbitrary: fc.record({ op: fc.constant("create" as const), c: idx, kind, amount, currency }), weight: 6 },
	{
		arbitrary: fc.record(
			{ op: fc.constant("edit" as const), t: idx, amount, currency, kind },
			{ requiredKeys: ["op", "t"] },
		),
		weight: 2,
	},
	{ arbitrary: fc.record({ op: fc.constant("delete" as const), t: idx }), weight: 1 },
	{ arbitrary: fc.record({ op: fc.constant("restore" as const), t: idx }), weight: 1 },
	{ arbitrary: fc.record({ op: fc.constant("deleteContact" as const), c: idx }), weight: 1 },
	{ arbitrary: fc.record({ op: fc.constant("restoreContact" as const), c: idx }), weight: 1 },
	{
		arbitrary: fc.record(
			{
				op: fc.constant("settle" as const),
				c: idx,
				currency,
				part: fc.double({ min: 0.01, max: 1, noNaN: true }),
			},
			{ requiredKeys: ["op", "c", "currency"] },
		),
		weight: 2,
	},
);

interface MTx {
	id: string;
	contact: string;
	kind: TransactionKind;
	amount: bigint;
	currency: string;
	deleted: boolean;
	withContact: boolean;
}

const sign = (k: TransactionKind, a: bigint) => (k === "lent" || k === "payment_out" ? a : -a);

class Model {
	contacts: { id: string; deleted: boolean }[] = [];
	txs: MTx[] = [];
	balance(contact: string, cur: string): bigint {
		return this.txs
			.filter((t) => t.contact === contact && t.currency === cur && !t.deleted)
			.reduce((n, t) => n + sign(t.kind, t.amount), 0n);
	}
}

async function expectDomain(
	work: Promise<unknown>,
	kinds: (abstract new (...a: never[]) => DomainError)[],
): Promise<boolean> {
	try {
		await work;
		return true;
	} catch (error) {
		if (!(error instanceof DomainError) || !kinds.some((k) => error instanceof k)) throw error;
		return false;
	}
}

async function apply(
	s: {
		contacts: ReturnType<typeof createContactService>;
		transactions: ReturnType<typeof createTransactionService>;
		balances: ReturnType<typeof createBalanceService>;
	},
	owner: string,
	m: Model,
	op: Op,
): Promise<void> {
	const contactAt = (i: number) => m.contacts[i % Math.max(1, m.contacts.length)];
	const txAt = (i: number) => m.txs[i % Math.max(1, m.txs.length)];
	switch (op.op) {
		case "contact": {
			const c = await s.contacts.create(owner, { name: `c${m.contacts.length}` });
			m.contacts.push({ id: c.id, deleted: false });
			return;
		}
		case "create": {
			const c = contactAt(op.c);
			if (!c) return;
			const work = s.transactions.create(owner, {
				contactId: c.id,
				kind: op.kind,
				amountMinor: op.amount,
				currency: op.currency as "EUR",
				occurredOn: "2026-01-01",
			});
			if (c.deleted) {
				expect(await expectDomain(work, [NotFound])).toBe(false);
				return;
			}
			const t = await work;
			m.txs.push({
				id: t.id,
				contact: c.id,
				kind: op.kind,
				amount: BigInt(op.amount),
				currency: op.currency,
				deleted: false,
				withContact: false,
			});
			return;
		}
		case "edit": {
			const t = txAt(op.t);
			if (!t) return;
			const change = {
				...(op.amount !== undefined ? { amountMinor: op.amount } : {}),
				...(op.currency !== undefined ? { currency: op.currency as "EUR" } : {}),
				...(op.kind !== undefined ? { kind: op.kind } : {}),
			};
			const ok = await expectDomain(s.transactions.update(owner, t.id, change), [NotFound, DomainError]);
			if (t.deleted) expect(ok).toBe(false);
			if (!ok) return;
			if (op.amount !== undefined) t.amount = BigInt(op.amount);
			if (op.currency !== undefined) t.currency = op.currency;
			if (op.kind !== undefined) t.kind = op.kind;
			return;
		}
		case "delete": {
			const t = txAt(op.t);
			if (!t) return;
			const ok = await expectDomain(s.transactions.remove(owner, t.id), [NotFound]);
			expect(ok).toBe(!t.deleted);
			t.deleted = true;
			return;
		}
		case "restore": {
			const t = txAt(op.t);
			if (!t) return;
			const contact = m.contacts.find((c) => c.id === t.contact)!;
			const ok = await expectDomain(s.transactions.restore(owner, t.id), [DomainError]);
			if (contact.deleted) expect(ok).toBe(false);
			else if (!t.deleted) expect(ok).toBe(true);
			if (ok) t.deleted = false;
			return;
		}
		case "deleteContact": {
			const c = contactAt(op.c);
			if (!c) return;
			const ok = await expectDomain(s.contacts.remove(owner, c.id), [NotFound]);
			expect(ok).toBe(!c.deleted);
			if (!ok) return;
			c.deleted = true;
			for (const t of m.txs.filter((t) => t.contact === c.id && !t.deleted)) {
				t.deleted = true;
				t.withContact = true;
			}
			return;
		}
		case "restoreContact": {
			const c = contactAt(op.c);
			if (!c) return;
			await s.contacts.restore(owner, c.id);
			if (!c.deleted) return;
			c.deleted = false;
			for (const t of m.txs.filter((t) => t.contact === c.id && t.withContact)) {
				t.deleted = false;
				t.withContact = false;
			}
			return;
		}
		case "settle": {
			const c = contactAt(op.c);
			if (!c) return;
			const before = m.balance(c.id, op.currency);
			const owed = before < 0n ? -before : before;
			const amountMinor = op.part === undefined ? undefined : Math.max(1, Math.floor(Number(owed) * op.part));
			const work = s.balances.settle(owner, c.id, {
				currency: op.currency as "EUR",
				...(amountMinor === undefined ? {} : { amountMinor }),
			});
			if (c.deleted || before === 0n) {
				expect(await expectDomain(work, [DomainError])).toBe(false);
				return;
			}
			const r = await work;
			expect(r.payment.kind).toBe(before > 0n ? "payment_in" : "payment_out");
			expect(BigInt(r.payment.amountMinor)).toBe(amountMinor === undefined ? owed : BigInt(amountMinor));
			m.txs.push({
				id: r.payment.id,
				contact: c.id,
				kind: r.payment.kind,
				amount: BigInt(r.payment.amountMinor),
				currency: op.currency,
				deleted: false,
				withContact: false,
			});
			expect(BigInt(r.balance.balanceMinor)).toBe(m.balance(c.id, op.currency));
			return;
		}
	}
}

async function check(owner: string, m: Model): Promise<void> {
	const sql = db.sql;
	const rows = await sql<{ contact_id: string; currency: string; cached: string; entries: string }[]>`
		with e as (select contact_id, currency, sum(delta_minor) as s from ledger_entries where owner_id = ${owner} group by 1, 2),
		     b as (select contact_id, currency, balance_minor from balances where owner_id = ${owner})
		select contact_id, currency, coalesce(b.balance_minor, 0)::text as cached, coalesce(e.s, 0)::text as entries
		from b full join e using (contact_id, currency)`;
	const seen = new Map(rows.map((r) => [`${r.contact_id}|${r.currency}`, r]));
	for (const c of m.contacts)
		for (const cur of CURRENCIES) {
			const r = seen.get(`${c.id}|${cur}`);
			const expected = m.balance(c.id, cur);
			expect({ c: c.id, cur, cached: BigInt(r?.cached ?? "0"), entries: BigInt(r?.entries ?? "0") }).toEqual({
				c: c.id,
				cur,
				cached: expected,
				entries: expected,
			});
		}
	// Per transaction: its entries sum to its signed amount in its own currency, zero in any other.
	const per = await sql<{ transaction_id: string; currency: string; s: string }[]>`
		select transaction_id, currency, sum(delta_minor)::text as s from ledger_entries
		where owner_id = ${owner} group by 1, 2`;
	const byTx = new Map<string, Map<string, bigint>>();
	for (const p of per) {
		const inner = byTx.get(p.transaction_id) ?? new Map<string, bigint>();
		inner.set(p.currency, BigInt(p.s));
		byTx.set(p.transaction_id, inner);
	}
	for (const t of m.txs)
		for (const cur of CURRENCIES) {
			const got = byTx.get(t.id)?.get(cur) ?? 0n;
			const want = !t.deleted && t.currency === cur ? sign(t.kind, t.amount) : 0n;
			expect({ tx: t.id, cur, got }).toEqual({ tx: t.id, cur, got: want });
		}
	// Statuses follow the live allocations; nothing is over-allocated.
	const bad = await sql`
		select t.id from transactions t, lateral (select transaction_allocated(t.id, t.kind) as paid) a
		where t.owner_id = ${owner} and t.deleted_at is null and (
			a.paid > t.amount_minor
			or (t.kind in ('lent', 'borrowed') and t.status <> case when a.paid = 0 then 'open'
			      when a.paid >= t.amount_minor then 'settled' else 'partial' end))`;
	expect(bad.length).toBe(0);
}

test("cached balance = sum of entries = an independent BigInt model, over thousands of random operations", async () => {
	const s = {
		contacts: createContactService({ sql: db.sql }),
		transactions: createTransactionService({ sql: db.sql }),
		balances: createBalanceService({ sql: db.sql }),
	};
	let total = 0;
	const property = fc.asyncProperty(fc.array(opArb, { minLength: 60, maxLength: MAX_OPS }), async (ops) => {
		const [user] = await db.sql<
			{ id: string }[]
		>`insert into users (display_name) values ('prop') returning id`;
		const owner = user!.id;
		const m = new Model();
		for (const [i, op] of [{ op: "contact" } as Op, { op: "contact" } as Op, ...ops].entries()) {
			try {
				await apply(s, owner, m, op);
				await check(owner, m);
			} catch (error) {
				throw new Error(`operation ${i} ${JSON.stringify(op)} failed: ${(error as Error).message}`);
			}
			total++;
		}
	});
	try {
		await fc.assert(property, { seed: SEED, numRuns: RUNS, endOnFailure: true });
	} catch (error) {
		console.error(`ledger property failed with HERALD_TEST_SEED=${SEED}`);
		throw error;
	}
	expect(total).toBeGreaterThan(3_000);
}, 240_000);
