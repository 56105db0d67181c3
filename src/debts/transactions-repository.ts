/** SQL for transactions and their allocations: one statement per function, rows mapped to the public view. */
import type { Queryable as Sql } from "../infra/db/sql.ts";
import type { TransactionKind, TransactionStatus, TransactionView } from "./model.ts";
import { formatMinor, fromDb } from "./money.ts";

export interface TransactionRow {
	id: string;
	owner_id: string;
	contact_id: string;
	kind: TransactionKind;
	amount_minor: string;
	currency: string;
	description: string;
	occurred_on: string;
	due_date: string | null;
	status: TransactionStatus;
	allocated_minor: string;
	created_at: Date;
	updated_at: Date;
	deleted_at: Date | null;
}

export const isDebt = (kind: TransactionKind) => kind === "lent" || kind === "borrowed";

export const toTransactionView = (r: TransactionRow): TransactionView => ({
	id: r.id,
	contactId: r.contact_id,
	kind: r.kind,
	amountMinor: fromDb(r.amount_minor),
	amount: formatMinor(BigInt(r.amount_minor), r.currency),
	currency: r.currency,
	description: r.description,
	occurredOn: r.occurred_on,
	dueDate: r.due_date,
	status: r.status,
	allocatedMinor: fromDb(r.allocated_minor),
	createdAt: r.created_at.toISOString(),
	updatedAt: r.updated_at.toISOString(),
	deletedAt: r.deleted_at?.toISOString() ?? null,
});

/** Dates as text (no time-zone shift), amounts as exact strings, with the live allocated sum. */
export const columns = (sql: Sql) => sql`
	t.id, t.owner_id, t.contact_id, t.kind, t.amount_minor::text as amount_minor, t.currency, t.description,
	t.occurred_on::text as occurred_on, t.due_date::text as due_date, t.status,
	transaction_allocated(t.id, t.kind)::text as allocated_minor, t.created_at, t.updated_at, t.deleted_at`;

export interface TransactionFields {
	kind: TransactionKind;
	amount_minor: number;
	currency: string;
	description: string;
	occurred_on: string;
	due_date: string | null;
}

export async function insertTransaction(
	sql: Sql,
	ownerId: string,
	contactId: string,
	id: string | undefined,
	f: TransactionFields,
): Promise<string> {
	const [row] = await sql<{ id: string }[]>`
		insert into transactions (id, owner_id, contact_id, kind, amount_minor, currency, description, occurred_on,
		                          due_date, status)
		values (coalesce(${id ?? null}::uuid, gen_random_uuid()), ${ownerId}, ${contactId}, ${f.kind},
		        ${f.amount_minor}, ${f.currency}, ${f.description}, ${f.occurred_on}::date, ${f.due_date}::date,
		        ${isDebt(f.kind) ? "open" : "settled"})
		returning id`;
	return row!.id;
}

export async function findTransaction(
	sql: Sql,
	ownerId: string,
	id: string,
	includeDeleted = false,
): Promise<TransactionRow | undefined> {
	const [row] = await sql<TransactionRow[]>`
		select ${columns(sql)} from transactions t where t.id = ${id} and t.owner_id = ${ownerId}
		${includeDeleted ? sql`` : sql`and t.deleted_at is null`}`;
	return row;
}

/** The contact a transaction belongs to (to lock the contact before the transaction's row). */
export async function contactOf(sql: Sql, ownerId: string, id: string): Promise<string | undefined> {
	const [row] = await sql<{ contact_id: string }[]>`
		select contact_id from transactions where id = ${id} and owner_id = ${ownerId}`;
	return row?.contact_id;
}

export async function updateTransaction(sql: Sql, id: string, f: Partial<TransactionFields>): Promise<void> {
	const set: Record<string, unknown> = { ...f };
	await sql`update transactions set ${sql(set)} where id = ${id}`;
}

export async function setTransactionDeleted(sql: Sql, id: string, at: Date | null): Promise<void> {
	await sql`update transactions set deleted_at = ${at} where id = ${id}`;
}

/** A contact's delete: its live transactions get the contact's timestamp. */
export async function deleteContactTransactions(sql: Sql, contactId: string, at: Date): Promise<void> {
	await sql`update transactions set deleted_at = ${at} where contact_id = ${contactId} and deleted_at is null`;
}

/** When the latest of the contact's transactions was deleted (null: none is). */
export async function lastDeletion(sql: Sql, contactId: string): Promise<Date | null> {
	const [row] = await sql<{ at: Date | null }[]>`
		select max(deleted_at) as at from transactions where contact_id = ${contactId}`;
	return row?.at ?? null;
}

/** A contact's restore: the transactions deleted with it (same timestamp) come back. */
export async function restoreContactTransactions(sql: Sql, contactId: string, at: Date): Promise<void> {
	await sql`update transactions set deleted_at = null where contact_id = ${contactId} and deleted_at = ${at}`;
}

export interface TransactionFilter {
	ownerId: string;
	contactId?: string | undefined;
	kind?: TransactionKind | undefined;
	currency?: string | undefined;
	status?: TransactionStatus | undefined;
	from?: string | undefined;
	to?: string | undefined;
	includeDeleted: boolean;
}

const where = (sql: Sql, f: TransactionFilter) => sql`
	where t.owner_id = ${f.ownerId}
	${f.includeDeleted ? sql`` : sql`and t.deleted_at is null`}
	${f.contactId ? sql`and t.contact_id = ${f.contactId}` : sql``}
	${f.kind ? sql`and t.kind = ${f.kind}` : sql``}
	${f.currency ? sql`and t.currency = ${f.currency}` : sql``}
	${f.status ? sql`and t.status = ${f.status}` : sql``}
	${f.from ? sql`and t.occurred_on >= ${f.from}::date` : sql``}
	${f.to ? sql`and t.occurred_on <= ${f.to}::date` : sql``}`;

export async function listTransactions(
	sql: Sql,
	f: TransactionFilter,
	page: { limit: number; offset: number },
): Promise<{ rows: TransactionRow[]; total: number }> {
	const [rows, [count]] = await Promise.all([
		sql<TransactionRow[]>`
			select ${columns(sql)} from transactions t ${where(sql, f)}
			order by t.occurred_on desc, t.id desc limit ${page.limit} offset ${page.offset}`,
		sql<{ n: number }[]>`select count(*)::int as n from transactions t ${where(sql, f)}`,
	]);
	return { rows: [...rows], total: count!.n };
}

// --- allocations ---

export interface DebtRow {
	id: string;
	kind: TransactionKind;
	currency: string;
	amount_minor: string;
	deleted_at: Date | null;
	allocated_minor: string;
}

/** The owner's transactions of this contact with the given ids, with what live payments allocated to them. */
export async function debtsOf(
	sql: Sql,
	ownerId: string,
	contactId: string,
	ids: string[],
): Promise<DebtRow[]> {
	if (ids.length === 0) return [];
	const rows = await sql<DebtRow[]>`
		select t.id, t.kind, t.currency, t.amount_minor::text as amount_minor, t.deleted_at,
		       transaction_allocated(t.id, t.kind)::text as allocated_minor
		from transactions t
		where t.owner_id = ${ownerId} and t.contact_id = ${contactId} and t.id in ${sql(ids)}`;
	return [...rows];
}

/** Live debts of this kind and currency with something left to pay, oldest due first (settle-up without allocations). */
export async function openDebts(
	sql: Sql,
	contactId: string,
	kind: "lent" | "borrowed",
	currency: string,
): Promise<{ id: string; outstanding: string }[]> {
	const rows = await sql<{ id: string; outstanding: string }[]>`
		select id, outstanding::text from (
			select t.id, t.due_date, t.occurred_on, t.amount_minor - transaction_allocated(t.id, t.kind) as outstanding
			from transactions t
			where t.contact_id = ${contactId} and t.kind = ${kind} and t.currency = ${currency}
			  and t.deleted_at is null and t.status <> 'settled'
		) d where outstanding > 0
		order by due_date nulls last, occurred_on, id`;
	return [...rows];
}

export async function insertAllocations(
	sql: Sql,
	ownerId: string,
	paymentId: string,
	allocations: { debtId: string; amountMinor: number }[],
): Promise<void> {
	if (allocations.length === 0) return;
	const rows = allocations.map((a) => ({
		payment_id: paymentId,
		debt_id: a.debtId,
		owner_id: ownerId,
		amount_minor: a.amountMinor,
	}));
	await sql`insert into allocations ${sql(rows, "payment_id", "debt_id", "owner_id", "amount_minor")}`;
}

/** Everything ever allocated by (payment) or to (debt) this transaction, live or not. */
export async function allocationTotal(sql: Sql, id: string, kind: TransactionKind): Promise<bigint> {
	const [row] = await sql<{ n: string }[]>`
		select coalesce(sum(amount_minor), 0)::text as n from allocations
		where ${isDebt(kind) ? sql`debt_id` : sql`payment_id`} = ${id}`;
	return BigInt(row!.n);
}

/** Debts a payment's restore would push past their amount (other payments paid them meanwhile). */
export async function overAllocatedByRestore(sql: Sql, paymentId: string): Promise<string[]> {
	const rows = await sql<{ id: string }[]>`
		select d.id from allocations a join transactions d on d.id = a.debt_id and d.deleted_at is null
		where a.payment_id = ${paymentId}
		  and transaction_allocated(d.id, d.kind) + a.amount_minor > d.amount_minor`;
	return rows.map((r) => r.id);
}

/** Sets each live debt of the contact to open / partial / settled from its live allocations. */
export async function refreshDebtStatuses(sql: Sql, contactId: string): Promise<void> {
	await sql`
		update transactions t set status = s.status
		from (
			select d.id, case when a.paid = 0 then 'open' when a.paid >= d.amount_minor then 'settled' else 'partial' end as status
			from transactions d, lateral (select transaction_allocated(d.id, d.kind) as paid) a
			where d.contact_id = ${contactId} and d.deleted_at is null and d.kind in ('lent', 'borrowed')
		) s
		where t.id = s.id and t.status <> s.status`;
}
