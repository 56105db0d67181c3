/**
 * The mutations a device may push, each the REST operation of the same name
 * run through the same domain service (inside the push's transaction, see
 * scoped-sql.ts). Arguments are checked with the REST body's schema; a
 * create needs a client-chosen UUID v7 `id` (devices create offline).
 * Updates resolve conflicts per field, the money fields as one group (conflicts.ts); an update or delete of
 * a deleted row is `gone` (restore is explicit).
 */
import type { TObject } from "@sinclair/typebox";
import { t } from "elysia";
import type { TransactionSql } from "postgres";
import { createBalanceService } from "../debts/balances-service.ts";
import { lockContact } from "../debts/contacts-repository.ts";
import { createContactService } from "../debts/contacts-service.ts";
import {
	CreateContactBody,
	CreateTransactionBody,
	SettleBody,
	UpdateContactBody,
	UpdateTransactionBody,
	Uuid,
	UuidV7,
} from "../debts/model.ts";
import { amountOf } from "../debts/money.ts";
import { toTransactionView } from "../debts/transactions-repository.ts";
import { createTransactionService, lockContactFor } from "../debts/transactions-service.ts";
import { Invalid, NotFound } from "../errors.ts";
import type { Queryable, Sql } from "../infra/db/sql.ts";
import { CreateReminderBody, UpdateReminderBody } from "../reminders/model.ts";
import { createReminderService } from "../reminders/service.ts";
import { type FieldConflict, mergeUpdate } from "./conflicts.ts";
import type { MutationName } from "./model.ts";

export type Outcome =
	| { status: "applied" }
	| { status: "gone" }
	| { status: "conflict"; conflicts: FieldConflict[] };

type Args = Record<string, any>;

interface MutationContext {
	ownerId: string;
	/** The push transaction as a domain service's `sql` (its `begin` is a savepoint). */
	sql: Sql;
	tx: Queryable;
	base: Record<string, unknown> | undefined;
}

interface MutationDef {
	args: TObject;
	apply(ctx: MutationContext, args: Args): Promise<Outcome>;
}

const applied: Outcome = { status: "applied" };
const gone: Outcome = { status: "gone" };
const WithId = t.Object({ id: Uuid });
const created = (body: TObject) => t.Composite([t.Omit(body, ["id"]), t.Object({ id: UuidV7 })]);
const withId = (body: TObject) => t.Composite([WithId, body]);

const services = (sql: Sql) => ({
	contacts: createContactService({ sql }),
	transactions: createTransactionService({ sql }),
	balances: createBalanceService({ sql }),
	reminders: createReminderService({ sql }),
});

/** Read under the contact's lock (taken first, as every write of it does): a REST delete meanwhile is `gone`. */
async function contactState(tx: Queryable, ownerId: string, id: string): Promise<"live" | "deleted"> {
	const row = await lockContact(tx, ownerId, id, true);
	if (!row) throw new NotFound("contact");
	return row.deleted_at ? "deleted" : "live";
}

/** Reminders are deleted for good; a tombstone in the sync index (or a followed soft delete) says it was there. */
async function reminderState(tx: Queryable, ownerId: string, id: string): Promise<"live" | "deleted"> {
	const [row] = await tx<{ deleted: boolean }[]>`
		select deleted_at is not null as deleted from reminders where id = ${id} and owner_id = ${ownerId}
		union all
		select true from sync_rows where entity = 'reminder' and id = ${id} and owner_id = ${ownerId} and deleted
		limit 1`;
	if (!row) throw new NotFound("reminder");
	return row.deleted ? "deleted" : "live";
}

const MONEY = ["kind", "currency", "amountMinor", "contactId"] as const;

/** amountMinor for a decimal `amount` (in the currency the change or the row has). */
function minorOf(fields: Args | undefined, currency: string): Args | undefined {
	if (!fields || fields.amount === undefined) return fields;
	const { amount, ...rest } = fields;
	return { ...rest, amountMinor: amountOf({ amount }, fields.currency ?? currency) };
}

/**
 * The transaction read under its contact's lock (the debts services' lock order), so a REST write
 * either committed before (merged against, or `gone`) or waits for this push: never overwritten unseen.
 */
const lockedTransaction = (ctx: MutationContext, id: string) =>
	lockContactFor(ctx.tx as TransactionSql, ctx.ownerId, id, (tx, owner, contactId) =>
		lockContact(tx, owner, contactId, true),
	);

async function updateTransaction(ctx: MutationContext, args: Args): Promise<Outcome> {
	const row = await lockedTransaction(ctx, args.id);
	if (!row) throw new NotFound("transaction");
	if (row.deleted_at) return gone;
	const server = toTransactionView(row) as unknown as Args;
	const { change, conflicts } = mergeUpdate(
		// A decimal amount is in its own change's currency, else in the one the device saw (base), else the row's.
		minorOf(args, typeof ctx.base?.currency === "string" ? ctx.base.currency : row.currency)!,
		minorOf(ctx.base, row.currency),
		server,
		MONEY,
	);
	if (change.contactId !== undefined && change.contactId !== row.contact_id)
		throw new Invalid("a transaction's contact cannot change", { field: "contactId", reason: "immutable" });
	delete change.contactId;
	await services(ctx.sql).transactions.update(ctx.ownerId, args.id, change);
	return conflicts.length > 0 ? { status: "conflict", conflicts } : applied;
}

export const MUTATIONS: Record<MutationName, MutationDef> = {
	createContact: {
		args: created(CreateContactBody),
		async apply(ctx, args) {
			await services(ctx.sql).contacts.create(ctx.ownerId, args as never);
			return applied;
		},
	},
	updateContact: {
		args: withId(UpdateContactBody),
		async apply(ctx, args) {
			if ((await contactState(ctx.tx, ctx.ownerId, args.id)) === "deleted") return gone;
			const { id, ...change } = args;
			await services(ctx.sql).contacts.update(ctx.ownerId, id, change);
			return applied;
		},
	},
	deleteContact: {
		args: WithId,
		async apply(ctx, args) {
			if ((await contactState(ctx.tx, ctx.ownerId, args.id)) === "deleted") return gone;
			await services(ctx.sql).contacts.remove(ctx.ownerId, args.id);
			return applied;
		},
	},
	restoreContact: {
		args: WithId,
		async apply(ctx, args) {
			await services(ctx.sql).contacts.restore(ctx.ownerId, args.id);
			return applied;
		},
	},
	settleContact: {
		args: t.Composite([t.Omit(SettleBody, ["id"]), t.Object({ id: UuidV7, contactId: Uuid })]),
		async apply(ctx, args) {
			const { contactId, ...body } = args;
			if ((await contactState(ctx.tx, ctx.ownerId, contactId)) === "deleted") return gone;
			await services(ctx.sql).balances.settle(ctx.ownerId, contactId, body as never);
			return applied;
		},
	},
	createTransaction: {
		args: created(CreateTransactionBody),
		async apply(ctx, args) {
			await services(ctx.sql).transactions.create(ctx.ownerId, args as never);
			return applied;
		},
	},
	updateTransaction: {
		args: t.Composite([WithId, UpdateTransactionBody, t.Object({ contactId: t.Optional(Uuid) })]),
		apply: updateTransaction,
	},
	deleteTransaction: {
		args: WithId,
		async apply(ctx, args) {
			const row = await lockedTransaction(ctx, args.id);
			if (!row) throw new NotFound("transaction");
			if (row.deleted_at) return gone;
			await services(ctx.sql).transactions.remove(ctx.ownerId, args.id);
			return applied;
		},
	},
	restoreTransaction: {
		args: WithId,
		async apply(ctx, args) {
			await services(ctx.sql).transactions.restore(ctx.ownerId, args.id);
			return applied;
		},
	},
	createReminder: {
		args: t.Composite([t.Omit(CreateReminderBody, ["id"]), t.Object({ id: UuidV7 })]),
		async apply(ctx, args) {
			await services(ctx.sql).reminders.create(ctx.ownerId, args as never);
			return applied;
		},
	},
	updateReminder: {
		args: withId(UpdateReminderBody),
		async apply(ctx, args) {
			if ((await reminderState(ctx.tx, ctx.ownerId, args.id)) === "deleted") return gone;
			const { id, ...change } = args;
			await services(ctx.sql).reminders.update(ctx.ownerId, id, change);
			return applied;
		},
	},
	deleteReminder: {
		args: WithId,
		async apply(ctx, args) {
			if ((await reminderState(ctx.tx, ctx.ownerId, args.id)) === "deleted") return gone;
			await services(ctx.sql).reminders.remove(ctx.ownerId, args.id);
			return applied;
		},
	},
};
