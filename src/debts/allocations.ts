/**
 * Allocating a payment to debts: payment_in pays `lent` debts, payment_out
 * pays `borrowed` ones, of the same contact and currency. Over-allocation
 * (more than a debt's outstanding amount, or more than the payment in total)
 * is 422 and, since it is checked before anything is written in the same
 * transaction, writes nothing.
 */
import { Invalid } from "../errors.ts";
import type { Queryable as Sql } from "../infra/db/sql.ts";
import type { AllocationInput, TransactionKind } from "./model.ts";
import { debtsOf, openDebts } from "./transactions-repository.ts";

export interface Allocation {
	debtId: string;
	amountMinor: number;
}

export const debtKindPaidBy = (kind: TransactionKind): "lent" | "borrowed" | undefined =>
	kind === "payment_in" ? "lent" : kind === "payment_out" ? "borrowed" : undefined;

const invalid = (message: string, details: Record<string, unknown>) =>
	new Invalid(message, { field: "allocations", ...details });

export async function checkAllocations(
	tx: Sql,
	ownerId: string,
	contactId: string,
	payment: { kind: TransactionKind; currency: string; amountMinor: number },
	input: AllocationInput[],
): Promise<Allocation[]> {
	if (input.length === 0) return [];
	const debtKind = debtKindPaidBy(payment.kind);
	if (!debtKind)
		throw invalid("only payments (payment_in, payment_out) can be allocated", { reason: "not_a_payment" });
	const ids = input.map((a) => a.transactionId.toLowerCase());
	if (new Set(ids).size !== ids.length)
		throw invalid("each debt may appear once in allocations", { reason: "duplicate" });
	const total = input.reduce((n, a) => n + BigInt(a.amountMinor), 0n);
	if (total > BigInt(payment.amountMinor))
		throw invalid(`allocations add up to ${total}, more than the payment's ${payment.amountMinor}`, {
			reason: "exceeds_payment",
		});
	const debts = new Map((await debtsOf(tx, ownerId, contactId, ids)).map((d) => [d.id, d]));
	return input.map((a, i) => {
		const id = ids[i]!;
		const debt = debts.get(id);
		const at = { index: i, transactionId: id };
		if (!debt || debt.deleted_at)
			throw invalid("not a live transaction of this contact", { reason: "unknown_debt", ...at });
		if (debt.kind !== debtKind || debt.currency !== payment.currency)
			throw invalid(
				`a ${payment.kind} in ${payment.currency} pays only ${debtKind} debts in ${payment.currency}`,
				{
					reason: "wrong_debt",
					...at,
				},
			);
		const outstanding = BigInt(debt.amount_minor) - BigInt(debt.allocated_minor);
		if (BigInt(a.amountMinor) > outstanding)
			throw invalid(`more than the debt's outstanding ${outstanding}`, {
				reason: "exceeds_outstanding",
				outstandingMinor: Number(outstanding),
				...at,
			});
		return { debtId: id, amountMinor: a.amountMinor };
	});
}

/** Settle-up without explicit allocations: the oldest due debts first, until the payment is used up. */
export async function autoAllocate(
	tx: Sql,
	contactId: string,
	payment: { kind: TransactionKind; currency: string; amountMinor: number },
): Promise<Allocation[]> {
	const debtKind = debtKindPaidBy(payment.kind);
	if (!debtKind) return [];
	let left = BigInt(payment.amountMinor);
	const out: Allocation[] = [];
	for (const debt of await openDebts(tx, contactId, debtKind, payment.currency)) {
		if (left === 0n) break;
		const take = BigInt(debt.outstanding) < left ? BigInt(debt.outstanding) : left;
		out.push({ debtId: debt.id, amountMinor: Number(take) });
		left -= take;
	}
	return out;
}
