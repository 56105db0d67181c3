/**
 * The append-only ledger and the cached balances. Every posting is one
 * statement: the entries are inserted and their sums added to the
 * (contact, currency) balance rows in the same statement, inside the
 * caller's transaction (which holds the contact row: lock order). Entries are
 * never updated or deleted; an edit is a reversal plus a new entry.
 */
import type { PendingQuery, Row } from "postgres";
import { Invalid } from "../errors.ts";
import type { Queryable as Sql } from "../infra/db/sql.ts";
import type { TransactionKind } from "./model.ts";

export type EntryReason = "create" | "edit" | "delete" | "restore";

/** Positive: the contact owes the owner. */
export function signedDelta(kind: TransactionKind, amountMinor: number): bigint {
	const amount = BigInt(amountMinor);
	return kind === "lent" || kind === "payment_out" ? amount : -amount;
}

export interface Posting {
	ownerId: string;
	contactId: string;
	transactionId: string;
	currency: string;
	delta: bigint;
	reason: EntryReason;
	occurredOn: string;
}

/** Rows of (owner_id, contact_id, transaction_id, currency, delta_minor, reason, occurred_on) to post. */
async function postSource(sql: Sql, source: PendingQuery<Row[]>): Promise<void> {
	try {
		await sql`
			with e as (
				insert into ledger_entries (owner_id, contact_id, transaction_id, currency, delta_minor, reason, occurred_on)
				${source}
				returning owner_id, contact_id, currency, delta_minor
			)
			insert into balances (contact_id, currency, owner_id, balance_minor)
			select contact_id, currency, owner_id, sum(delta_minor)::bigint from e group by 1, 2, 3
			on conflict (contact_id, currency) do update
			set balance_minor = balances.balance_minor + excluded.balance_minor, updated_at = now()`;
	} catch (error) {
		const e = error as { code?: string; constraint_name?: string };
		if (e.code === "23514" && e.constraint_name === "balances_exact_range")
			throw new Invalid("the balance would leave the exact range of ±(2^53-1) minor units", {
				field: "amountMinor",
				reason: "balance_out_of_range",
			});
		throw error;
	}
}

/** Posts entries given in code (create, edit, a single delete or restore). */
export async function post(sql: Sql, postings: Posting[]): Promise<void> {
	const rows = postings.filter((p) => p.delta !== 0n);
	if (rows.length === 0) return;
	const values = rows.map(
		(p) =>
			sql`(${p.ownerId}::uuid, ${p.contactId}::uuid, ${p.transactionId}::uuid, ${p.currency}, ${p.delta.toString()}::bigint, ${p.reason}, ${p.occurredOn}::date)`,
	);
	const list = values.reduce((acc, v, i) => (i === 0 ? v : sql`${acc}, ${v}`));
	await postSource(sql, sql`values ${list}`);
}

/**
 * Reverses (`delete`) or re-posts (`restore`) every transaction of a contact
 * whose `deleted_at` is exactly `at`: the contact's own delete and restore.
 */
export async function postContactTransactions(
	sql: Sql,
	contactId: string,
	at: Date,
	reason: "delete" | "restore",
): Promise<void> {
	const sign = reason === "delete" ? sql`-` : sql``;
	await postSource(
		sql,
		sql`select owner_id, contact_id, id, currency, ${sign}debt_delta(kind, amount_minor), ${reason}, occurred_on
			from transactions where contact_id = ${contactId} and deleted_at = ${at}`,
	);
}

export interface BalanceRow {
	contact_id: string;
	currency: string;
	balance_minor: string;
}

/** The cached balances of one contact, or (asOf) the sum of its entries then. */
export async function contactBalances(
	sql: Sql,
	contactId: string,
	asOf: AsOf | undefined,
): Promise<BalanceRow[]> {
	const rows = asOf
		? await sql<BalanceRow[]>`
			select contact_id, currency, sum(delta_minor)::text as balance_minor from ledger_entries
			where contact_id = ${contactId} and ${asOfFilter(sql, asOf)}
			group by contact_id, currency order by currency`
		: await sql<BalanceRow[]>`
			select contact_id, currency, balance_minor::text from balances
			where contact_id = ${contactId} order by currency`;
	return [...rows];
}

export type AsOf = { kind: "date"; date: string } | { kind: "instant"; at: Date };

const asOfFilter = (sql: Sql, asOf: AsOf) =>
	asOf.kind === "date" ? sql`occurred_on <= ${asOf.date}::date` : sql`created_at <= ${asOf.at}`;

export interface OwnerBalanceRow extends BalanceRow {
	contact_name: string;
}

/**
 * Every (contact, currency) of the owner's live contacts, by contact name:
 * driven by the contacts index (owner, lower(name), id) with one balance
 * lookup per contact. The total needs its own count only when the page is full.
 */
export async function ownerBalances(
	sql: Sql,
	ownerId: string,
	asOf: AsOf | undefined,
	page: { limit: number; offset: number },
): Promise<{ rows: OwnerBalanceRow[]; total: number }> {
	const source = asOf
		? sql`(select contact_id, currency, sum(delta_minor)::bigint as balance_minor from ledger_entries
			where owner_id = ${ownerId} and ${asOfFilter(sql, asOf)} group by contact_id, currency)`
		: sql`balances`;
	const lines = sql`
		from contacts c join ${source} b on b.contact_id = c.id
		where c.owner_id = ${ownerId} and c.deleted_at is null`;
	const rows = await sql<OwnerBalanceRow[]>`
		select c.id as contact_id, c.name as contact_name, b.currency, b.balance_minor::text as balance_minor
		${lines}
		order by lower(c.name), c.id, b.currency limit ${page.limit} offset ${page.offset}`;
	if (rows.length < page.limit && (rows.length > 0 || page.offset === 0))
		return { rows: [...rows], total: page.offset + rows.length };
	const [count] = await sql<{ n: number }[]>`select count(*)::int as n ${lines}`;
	return { rows: [...rows], total: count!.n };
}

export interface Drift {
	contact_id: string;
	currency: string;
	cached: string;
	entries: string;
}

/** Every (contact, currency) whose cached balance differs from the sum of its entries. */
export async function balanceDrift(sql: Sql): Promise<Drift[]> {
	const rows = await sql<Drift[]>`
		with sums as (select contact_id, currency, sum(delta_minor) as s from ledger_entries group by 1, 2)
		select contact_id, currency, coalesce(b.balance_minor, 0)::text as cached, coalesce(s.s, 0)::text as entries
		from balances b full join sums s using (contact_id, currency)
		where coalesce(b.balance_minor, 0) <> coalesce(s.s, 0)
		order by contact_id, currency`;
	return [...rows];
}
