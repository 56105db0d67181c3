/**
 * Transactions (debts and payments) over the append-only ledger. Every write
 * is one database transaction that first locks the contact row (lock order),
 * then changes the transaction, posts its entries and updates the cached
 * balance: a create posts an entry, an edit a reversal plus a new entry, a
 * delete a reversal, a restore a new entry. Debt statuses (open / partial /
 * settled) follow from the live allocations after every write.
 */
import type { TransactionSql } from "postgres";
import { Conflict, Invalid, NotFound } from "../errors.ts";
import { isUniqueViolation } from "../infra/db/errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import { checkAllocations } from "./allocations.ts";
import { idTaken, lockLiveContact } from "./contacts-service.ts";
import { validDate } from "./dates.ts";
import { type Posting, post, signedDelta } from "./ledger.ts";
import type {
	CreateTransactionBody,
	TransactionListQuery,
	TransactionView,
	UpdateTransactionBody,
} from "./model.ts";
import { amountOf, currencyDigits } from "./money.ts";
import {
	allocationTotal,
	contactOf,
	findTransaction,
	insertAllocations,
	insertTransaction,
	isDebt,
	listTransactions,
	overAllocatedByRestore,
	refreshDebtStatuses,
	setTransactionDeleted,
	type TransactionFields,
	type TransactionRow,
	toTransactionView,
	updateTransaction,
} from "./transactions-repository.ts";

const page = (q: { limit?: number; offset?: number }) => ({ limit: q.limit ?? 20, offset: q.offset ?? 0 });

type Tx = TransactionSql;

/** Runs `work` in a transaction; a client-chosen id that exists already is 409. */
export async function writing<T>(sql: Sql, work: (tx: Tx) => Promise<T>): Promise<T> {
	try {
		return (await sql.begin(work)) as T;
	} catch (error) {
		if (isUniqueViolation(error, "transactions_pkey") || isUniqueViolation(error, "contacts_pkey"))
			throw idTaken();
		throw error;
	}
}

const entry = (
	row: { owner_id: string; contact_id: string; id: string },
	f: Pick<TransactionFields, "kind" | "amount_minor" | "currency" | "occurred_on">,
	sign: 1n | -1n,
	reason: Posting["reason"],
): Posting => ({
	ownerId: row.owner_id,
	contactId: row.contact_id,
	transactionId: row.id,
	currency: f.currency,
	delta: sign * signedDelta(f.kind, f.amount_minor),
	reason,
	occurredOn: f.occurred_on,
});

const fieldsOf = (r: TransactionRow): TransactionFields => ({
	kind: r.kind,
	amount_minor: Number(r.amount_minor),
	currency: r.currency,
	description: r.description,
	occurred_on: r.occurred_on,
	due_date: r.due_date,
});

export function createTransactionService(deps: { sql: Sql }) {
	const { sql } = deps;

	async function view(tx: Tx, ownerId: string, id: string): Promise<TransactionView> {
		return toTransactionView((await findTransaction(tx, ownerId, id, true))!);
	}

	return {
		async create(ownerId: string, input: CreateTransactionBody): Promise<TransactionView> {
			const fields: TransactionFields = {
				kind: input.kind,
				amount_minor: amountOf(input, input.currency),
				currency: input.currency,
				description: input.description ?? "",
				occurred_on: validDate(input.occurredOn, "occurredOn"),
				due_date: input.dueDate === undefined ? null : validDate(input.dueDate, "dueDate"),
			};
			if (fields.due_date && !isDebt(fields.kind))
				throw new Invalid("only debts (lent, borrowed) have a due date", {
					field: "dueDate",
					reason: "not_a_debt",
				});
			return writing(sql, async (tx) => {
				await lockLiveContact(tx, ownerId, input.contactId);
				const allocations = await checkAllocations(
					tx,
					ownerId,
					input.contactId,
					{ kind: fields.kind, currency: fields.currency, amountMinor: fields.amount_minor },
					input.allocations ?? [],
				);
				const id = await insertTransaction(tx, ownerId, input.contactId, input.id?.toLowerCase(), fields);
				await post(tx, [entry({ owner_id: ownerId, contact_id: input.contactId, id }, fields, 1n, "create")]);
				if (allocations.length > 0) {
					await insertAllocations(tx, ownerId, id, allocations);
					await refreshDebtStatuses(tx, input.contactId);
				}
				return view(tx, ownerId, id);
			});
		},

		async list(ownerId: string, q: TransactionListQuery) {
			const { rows, total } = await listTransactions(
				sql,
				{
					ownerId,
					contactId: q.contactId,
					kind: q.kind,
					currency: q.currency,
					status: q.status,
					from: q.from === undefined ? undefined : validDate(q.from, "from"),
					to: q.to === undefined ? undefined : validDate(q.to, "to"),
					includeDeleted: q.includeDeleted ?? false,
				},
				page(q),
			);
			return { items: rows.map(toTransactionView), total };
		},

		async get(ownerId: string, id: string): Promise<TransactionView> {
			const row = await findTransaction(sql, ownerId, id);
			if (!row) throw new NotFound("transaction");
			return toTransactionView(row);
		},

		/** Changes a live transaction; the ledger posts a reversal of the old version and the new one. */
		async update(ownerId: string, id: string, change: UpdateTransactionBody): Promise<TransactionView> {
			return writing(sql, async (tx) => {
				const current = await lockContactFor(tx, ownerId, id, lockLiveContact);
				if (!current || current.deleted_at) throw new NotFound("transaction");
				const old = fieldsOf(current);
				const next: TransactionFields = { ...old };
				if (change.kind !== undefined) next.kind = change.kind;
				if (change.currency !== undefined) next.currency = change.currency;
				if (change.description !== undefined) next.description = change.description;
				if (change.occurredOn !== undefined) next.occurred_on = validDate(change.occurredOn, "occurredOn");
				if (change.dueDate !== undefined)
					next.due_date = change.dueDate === null ? null : validDate(change.dueDate, "dueDate");
				if (change.amountMinor !== undefined || change.amount !== undefined)
					next.amount_minor = amountOf(change, next.currency);
				else if (next.currency !== old.currency) currencyDigits(next.currency);
				if (!isDebt(next.kind)) {
					if (change.dueDate)
						throw new Invalid("only debts have a due date", { field: "dueDate", reason: "not_a_debt" });
					next.due_date = null;
				}
				const allocated = await allocationTotal(tx, id, old.kind);
				if (allocated > 0n && (next.kind !== old.kind || next.currency !== old.currency))
					throw new Conflict("a transaction with allocations cannot change its kind or currency", {
						field: next.kind !== old.kind ? "kind" : "currency",
						reason: "allocated",
					});
				const floor = isDebt(old.kind) ? BigInt(current.allocated_minor) : allocated;
				if (BigInt(next.amount_minor) < floor)
					throw new Invalid(`the amount cannot drop below the ${floor} already allocated`, {
						field: "amountMinor",
						reason: "below_allocated",
						allocatedMinor: Number(floor),
					});
				const changed = Object.fromEntries(
					Object.entries(next).filter(([k, v]) => old[k as keyof TransactionFields] !== v),
				) as Partial<TransactionFields>;
				if (Object.keys(changed).length === 0) return toTransactionView(current);
				if (next.kind !== old.kind)
					(changed as Record<string, unknown>).status = isDebt(next.kind) ? "open" : "settled";
				await updateTransaction(tx, id, changed);
				const ledgerChanged = ["kind", "amount_minor", "currency", "occurred_on"].some((k) => k in changed);
				if (ledgerChanged)
					await post(tx, [entry(current, old, -1n, "edit"), entry(current, next, 1n, "edit")]);
				await refreshDebtStatuses(tx, current.contact_id);
				return view(tx, ownerId, id);
			});
		},

		async remove(ownerId: string, id: string): Promise<void> {
			await writing(sql, async (tx) => {
				const current = await lockContactFor(tx, ownerId, id, lockLiveContact);
				if (!current || current.deleted_at) throw new NotFound("transaction");
				await setTransactionDeleted(tx, id, new Date());
				await post(tx, [entry(current, fieldsOf(current), -1n, "delete")]);
				await refreshDebtStatuses(tx, current.contact_id);
			});
		},

		/** Idempotent for a live transaction. A deleted contact's transactions come back with the contact (409 here). */
		async restore(ownerId: string, id: string): Promise<TransactionView> {
			return writing(sql, async (tx) => {
				const current = await lockContactFor(tx, ownerId, id, async (t, owner, contactId) => {
					const contact = await lockLiveContact(t, owner, contactId).catch(() => undefined);
					if (!contact) throw new Conflict("restore the contact first", { reason: "contact_deleted" });
					return contact;
				});
				if (!current) throw new NotFound("transaction");
				if (!current.deleted_at) return toTransactionView(current);
				if (!isDebt(current.kind)) {
					const over = await overAllocatedByRestore(tx, id);
					if (over.length > 0)
						throw new Conflict(
							"other payments have paid these debts meanwhile: restoring would over-allocate them",
							{
								reason: "over_allocated",
								transactionIds: over,
							},
						);
				}
				await setTransactionDeleted(tx, id, null);
				await post(tx, [entry(current, fieldsOf(current), 1n, "restore")]);
				await refreshDebtStatuses(tx, current.contact_id);
				return view(tx, ownerId, id);
			});
		},
	};
}

export type TransactionService = ReturnType<typeof createTransactionService>;

/** Lock order: the transaction's contact row first, then the transaction is read (deleted ones too). */
export async function lockContactFor(
	tx: Tx,
	ownerId: string,
	id: string,
	lock: (tx: Tx, ownerId: string, contactId: string) => Promise<unknown>,
): Promise<TransactionRow | undefined> {
	const contactId = await contactOf(tx, ownerId, id);
	if (!contactId) return undefined;
	await lock(tx, ownerId, contactId);
	return findTransaction(tx, ownerId, id, true);
}
