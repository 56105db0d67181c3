/**
 * Balances (positive = they owe you, per contact and currency, never summed
 * across currencies) and settle-up. Reads come from the cached `balances`
 * rows, or with `asOf` from the ledger entries. Settle-up records one payment
 * against the current balance: payment_in when they owe you, payment_out when
 * you owe them; more than the balance is 422, and so is a zero balance.
 */
import { Invalid, NotFound } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import { autoAllocate, checkAllocations } from "./allocations.ts";
import { findContact } from "./contacts-repository.ts";
import { lockLiveContact } from "./contacts-service.ts";
import { today, validDate } from "./dates.ts";
import { type AsOf, contactBalances, ownerBalances, post, signedDelta } from "./ledger.ts";
import type { BalanceLine, BalancePage, ContactBalance, SettleBody, SettleResult } from "./model.ts";
import { amountOf, formatMinor, fromDb } from "./money.ts";
import {
	findTransaction,
	insertAllocations,
	insertTransaction,
	refreshDebtStatuses,
	toTransactionView,
} from "./transactions-repository.ts";
import { writing } from "./transactions-service.ts";

const line = (currency: string, minor: string | bigint): BalanceLine => ({
	currency,
	balanceMinor: fromDb(minor.toString()),
	balance: formatMinor(BigInt(minor), currency),
});

export function parseAsOf(value: string | undefined): AsOf | undefined {
	if (value === undefined) return undefined;
	if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return { kind: "date", date: validDate(value, "asOf") };
	const at = new Date(value);
	if (Number.isNaN(at.getTime()) || at.getUTCFullYear() < 1 || at.getUTCFullYear() > 9999)
		throw new Invalid("asOf is not a valid date or date-time", { field: "asOf", reason: "invalid" });
	return { kind: "instant", at };
}

const asOfText = (asOf: AsOf | undefined) =>
	asOf === undefined ? null : asOf.kind === "date" ? asOf.date : asOf.at.toISOString();

export function createBalanceService(deps: { sql: Sql }) {
	const { sql } = deps;
	return {
		async ofContact(ownerId: string, contactId: string, asOfParam?: string): Promise<ContactBalance> {
			const asOf = parseAsOf(asOfParam);
			if (!(await findContact(sql, ownerId, contactId))) throw new NotFound("contact");
			const rows = await contactBalances(sql, contactId, asOf);
			return {
				contactId,
				asOf: asOfText(asOf),
				balances: rows.map((r) => line(r.currency, r.balance_minor)),
			};
		},

		async list(
			ownerId: string,
			q: { limit?: number; offset?: number; asOf?: string | undefined },
		): Promise<BalancePage> {
			const asOf = parseAsOf(q.asOf);
			const { rows, total } = await ownerBalances(sql, ownerId, asOf, {
				limit: q.limit ?? 100,
				offset: q.offset ?? 0,
			});
			return {
				asOf: asOfText(asOf),
				items: rows.map((r) => ({
					contactId: r.contact_id,
					contactName: r.contact_name,
					...line(r.currency, r.balance_minor),
				})),
				total,
			};
		},

		/**
		 * Records a payment for the whole balance in `currency` or part of it.
		 * Without `allocations` it pays the oldest due open debts first; with
		 * them, exactly those (`[]`: none).
		 */
		async settle(ownerId: string, contactId: string, input: SettleBody): Promise<SettleResult> {
			const occurredOn = input.occurredOn === undefined ? today() : validDate(input.occurredOn, "occurredOn");
			const requested = input.amountMinor !== undefined || input.amount !== undefined;
			const amount = requested ? amountOf(input, input.currency) : undefined;
			return writing(sql, async (tx) => {
				await lockLiveContact(tx, ownerId, contactId);
				const [current] = await tx<{ balance_minor: string }[]>`
					select balance_minor::text from balances where contact_id = ${contactId} and currency = ${input.currency}`;
				const balance = BigInt(current?.balance_minor ?? "0");
				if (balance === 0n)
					throw new Invalid(`nothing to settle in ${input.currency}: the balance is 0`, {
						field: "currency",
						reason: "nothing_to_settle",
					});
				const owed = balance < 0n ? -balance : balance;
				const amountMinor = amount ?? Number(owed);
				if (BigInt(amountMinor) > owed)
					throw new Invalid(`more than the balance of ${owed} ${input.currency}`, {
						field: "amountMinor",
						reason: "exceeds_balance",
						balanceMinor: Number(balance),
					});
				const kind = balance > 0n ? "payment_in" : "payment_out";
				const payment = { kind, currency: input.currency, amountMinor } as const;
				const allocations =
					input.allocations === undefined
						? await autoAllocate(tx, contactId, payment)
						: await checkAllocations(tx, ownerId, contactId, payment, input.allocations);
				const id = await insertTransaction(tx, ownerId, contactId, input.id?.toLowerCase(), {
					kind,
					amount_minor: amountMinor,
					currency: input.currency,
					description: input.description ?? "settle-up",
					occurred_on: occurredOn,
					due_date: null,
				});
				await post(tx, [
					{
						ownerId,
						contactId,
						transactionId: id,
						currency: input.currency,
						delta: signedDelta(kind, amountMinor),
						reason: "create",
						occurredOn,
					},
				]);
				await insertAllocations(tx, ownerId, id, allocations);
				if (allocations.length > 0) await refreshDebtStatuses(tx, contactId);
				const row = await findTransaction(tx, ownerId, id);
				return {
					payment: toTransactionView(row!),
					allocations: allocations.map((a) => ({ transactionId: a.debtId, amountMinor: a.amountMinor })),
					balance: line(input.currency, balance + signedDelta(kind, amountMinor)),
				};
			});
		},
	};
}

export type BalanceService = ReturnType<typeof createBalanceService>;
