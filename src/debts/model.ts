/** Request and response schemas of contacts, transactions, balances and settle-up (TypeBox, shown in Swagger). */
import { t } from "elysia";
import { JsonInt, Limit, Offset } from "../http/schema.ts";
import { CURRENCIES, MAX_MINOR } from "./money.ts";

export { ErrorBody } from "../auth/model.ts";

const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
export const Uuid = t.String({ format: "uuid", pattern: UUID_PATTERN });
/** A client-chosen id: a UUID of version 7 (time-ordered); other versions are 422. */
export const UuidV7 = t.String({
	format: "uuid",
	pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-7[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$",
	description: "optional client-chosen id, a UUID v7; a second create with the same id is 409",
	examples: ["01936c9e-8f2a-7cc3-9a41-5b8e2f0d4c11"],
});

const DATE_PATTERN = "^\\d{4}-\\d{2}-\\d{2}$";
export const DateOnly = (description?: string) =>
	t.String({
		format: "date",
		pattern: DATE_PATTERN,
		examples: ["2026-03-15"],
		...(description ? { description } : {}),
	});

export const Currency = t.Union(
	CURRENCIES.map((c) => t.Literal(c)),
	{ description: "ISO 4217 code", examples: ["EUR"] },
);
const AmountMinor = JsonInt({
	minimum: 1,
	maximum: MAX_MINOR,
	description: "minor units (cents), 1 to 2^53-1",
	examples: [1250],
});
const AmountDecimal = t.String({
	pattern: "^\\d{1,16}(\\.\\d{1,18})?$",
	maxLength: 40,
	description:
		"instead of amountMinor: a decimal string in the currency's units; more decimals than the currency has are 422",
	examples: ["12.50"],
});

const Name = t.String({ minLength: 1, maxLength: 200, pattern: "\\S", description: "not blank" });
const Email = t.String({ format: "email", maxLength: 320 });
const Phone = t.String({ minLength: 1, maxLength: 50 });
const Note = t.String({ maxLength: 10_000 });
const Description = t.String({ maxLength: 10_000 });
const Stamp = t.String({ format: "date-time" });
const NullableStamp = t.Union([Stamp, t.Null()]);

export const ContactView = t.Object({
	id: t.String({ format: "uuid" }),
	name: t.String(),
	email: t.Union([t.String(), t.Null()]),
	phone: t.Union([t.String(), t.Null()]),
	note: t.String(),
	createdAt: Stamp,
	updatedAt: Stamp,
	deletedAt: NullableStamp,
});

export const CreateContactBody = t.Object({
	id: t.Optional(UuidV7),
	name: Name,
	email: t.Optional(Email),
	phone: t.Optional(Phone),
	note: t.Optional(Note),
});

export const UpdateContactBody = t.Object({
	name: t.Optional(Name),
	email: t.Optional(t.Union([Email, t.Null()], { description: "null clears it" })),
	phone: t.Optional(t.Union([Phone, t.Null()], { description: "null clears it" })),
	note: t.Optional(Note),
});

const IncludeDeleted = t.Optional(
	t.Boolean({ default: false, description: "also soft-deleted rows (their `deletedAt` is set)" }),
);

export const ContactListQuery = t.Object({
	limit: Limit(100, 20),
	offset: Offset,
	q: t.Optional(t.String({ maxLength: 200, description: "part of the name, case-insensitive" })),
	includeDeleted: IncludeDeleted,
});
export const ContactPage = t.Object({ items: t.Array(ContactView), total: t.Integer() });
export const IdParams = t.Object({ id: Uuid });

export const TransactionKind = t.Union(
	[t.Literal("lent"), t.Literal("borrowed"), t.Literal("payment_in"), t.Literal("payment_out")],
	{
		description:
			"lent: they owe you more; borrowed: you owe them more; payment_in: they paid you; payment_out: you paid them",
	},
);
export const TransactionStatus = t.Union([t.Literal("open"), t.Literal("partial"), t.Literal("settled")]);

export const AllocationInput = t.Object({
	transactionId: Uuid,
	amountMinor: AmountMinor,
});
const Allocations = t.Array(AllocationInput, {
	maxItems: 100,
	description:
		"debts this payment pays (same contact and currency; payment_in pays `lent`, payment_out pays `borrowed`); " +
		"more than a debt's outstanding amount, or more than the payment in total, is 422",
});

export const TransactionView = t.Object({
	id: t.String({ format: "uuid" }),
	contactId: t.String({ format: "uuid" }),
	kind: TransactionKind,
	amountMinor: t.Integer(),
	amount: t.String({ description: "the same amount as a decimal string" }),
	currency: t.String(),
	description: t.String(),
	occurredOn: t.String({ format: "date" }),
	dueDate: t.Union([t.String({ format: "date" }), t.Null()]),
	status: TransactionStatus,
	allocatedMinor: t.Integer({
		description: "debts: paid by live allocated payments; payments: allocated to live debts",
	}),
	createdAt: Stamp,
	updatedAt: Stamp,
	deletedAt: NullableStamp,
});

export const CreateTransactionBody = t.Object({
	id: t.Optional(UuidV7),
	contactId: Uuid,
	kind: TransactionKind,
	amountMinor: t.Optional(AmountMinor),
	amount: t.Optional(AmountDecimal),
	currency: Currency,
	description: t.Optional(Description),
	occurredOn: DateOnly("the day it happened"),
	dueDate: t.Optional(DateOnly("when a debt is due (lent/borrowed only)")),
	allocations: t.Optional(Allocations),
});

export const UpdateTransactionBody = t.Object({
	kind: t.Optional(TransactionKind),
	amountMinor: t.Optional(AmountMinor),
	amount: t.Optional(AmountDecimal),
	currency: t.Optional(Currency),
	description: t.Optional(Description),
	occurredOn: t.Optional(DateOnly()),
	dueDate: t.Optional(t.Union([DateOnly(), t.Null()], { description: "null clears it" })),
});

export const TransactionListQuery = t.Object({
	limit: Limit(100, 20),
	offset: Offset,
	contactId: t.Optional(Uuid),
	kind: t.Optional(TransactionKind),
	currency: t.Optional(Currency),
	status: t.Optional(TransactionStatus),
	from: t.Optional(DateOnly("occurredOn on or after this day")),
	to: t.Optional(DateOnly("occurredOn on or before this day")),
	includeDeleted: IncludeDeleted,
});
export const TransactionPage = t.Object({ items: t.Array(TransactionView), total: t.Integer() });

const AsOf = t.Optional(
	t.String({
		pattern: `${DATE_PATTERN.slice(0, -1)}|^\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?([Zz]|[+-]\\d{2}:\\d{2})$`,
		description:
			"computed from the ledger instead of the cache: a date counts the transactions that occurred on or " +
			"before it (as they stand now); a date-time replays the entries posted up to that instant",
		examples: ["2026-03-31"],
	}),
);
export const BalanceQuery = t.Object({ asOf: AsOf });
export const BalanceListQuery = t.Object({ limit: Limit(1000, 100), offset: Offset, asOf: AsOf });

export const BalanceLine = t.Object({
	currency: t.String(),
	balanceMinor: t.Integer({ description: "positive: they owe you; negative: you owe them" }),
	balance: t.String(),
});
export const ContactBalance = t.Object({
	contactId: t.String({ format: "uuid" }),
	asOf: t.Union([t.String(), t.Null()]),
	balances: t.Array(BalanceLine),
});
export const BalancePage = t.Object({
	asOf: t.Union([t.String(), t.Null()]),
	items: t.Array(
		t.Composite([
			t.Object({ contactId: t.String({ format: "uuid" }), contactName: t.String() }),
			BalanceLine,
		]),
	),
	total: t.Integer(),
});

export const SettleBody = t.Object({
	id: t.Optional(UuidV7),
	currency: Currency,
	amountMinor: t.Optional(AmountMinor),
	amount: t.Optional(AmountDecimal),
	occurredOn: t.Optional(DateOnly("default: today (UTC)")),
	description: t.Optional(Description),
	allocations: t.Optional(Allocations),
});
export const SettleResult = t.Object({
	payment: TransactionView,
	allocations: t.Array(t.Object({ transactionId: t.String({ format: "uuid" }), amountMinor: t.Integer() })),
	balance: BalanceLine,
});

export type ContactView = typeof ContactView.static;
export type CreateContactBody = typeof CreateContactBody.static;
export type UpdateContactBody = typeof UpdateContactBody.static;
export type ContactListQuery = typeof ContactListQuery.static;
export type TransactionKind = typeof TransactionKind.static;
export type TransactionStatus = typeof TransactionStatus.static;
export type TransactionView = typeof TransactionView.static;
export type CreateTransactionBody = typeof CreateTransactionBody.static;
export type UpdateTransactionBody = typeof UpdateTransactionBody.static;
export type TransactionListQuery = typeof TransactionListQuery.static;
export type AllocationInput = typeof AllocationInput.static;
export type BalanceLine = typeof BalanceLine.static;
export type ContactBalance = typeof ContactBalance.static;
export type BalancePage = typeof BalancePage.static;
export type SettleBody = typeof SettleBody.static;
export type SettleResult = typeof SettleResult.static;
export type IdParams = typeof IdParams.static;
