/**
 * Money: an integer of minor units plus an ISO 4217 code (decimals from the
 * `currency-codes` table, never a hand list). Amounts are at most 2^53-1
 * minor units, so every amount and balance is an exact JSON number.
 * PostgreSQL's int8 arrives from postgres.js as a string: `fromDb` turns it
 * into a number only inside that range.
 */
import cc from "currency-codes";
import { Invalid } from "../errors.ts";

export const MAX_MINOR = Number.MAX_SAFE_INTEGER; // 2^53 - 1

/** "No currency" and the testing code are not money. */
const EXCLUDED = new Set(["XXX", "XTS"]);

export const CURRENCIES: readonly string[] = cc
	.codes()
	.filter((c) => !EXCLUDED.has(c))
	.sort();

const digitsByCode = new Map(CURRENCIES.map((c) => [c, cc.code(c)!.digits]));

export function currencyDigits(currency: string): number {
	const digits = digitsByCode.get(currency);
	if (digits === undefined)
		throw new Invalid(`${currency} is not an ISO 4217 currency`, { field: "currency", reason: "unknown" });
	return digits;
}

/** A decimal string ("12.50") in `currency` → minor units; too many decimals, zero or too large is 422. */
export function parseDecimal(amount: string, currency: string, field = "amount"): number {
	const digits = currencyDigits(currency);
	const match = /^(\d{1,16})(?:\.(\d{1,18}))?$/.exec(amount);
	if (!match)
		throw new Invalid(`${field} must be a positive decimal number like "12.50"`, { field, reason: "format" });
	const [, whole = "0", fraction = ""] = match;
	const significant = fraction.replace(/0+$/, "");
	if (significant.length > digits)
		throw new Invalid(
			`${currency} has ${digits} decimal digit${digits === 1 ? "" : "s"}: ${amount} has more`,
			{
				field,
				reason: "too_many_decimals",
				digits,
			},
		);
	const minor = BigInt(whole) * 10n ** BigInt(digits) + BigInt(significant.padEnd(digits, "0") || "0");
	return checkMinor(minor, field);
}

export function checkMinor(minor: bigint | number, field = "amountMinor"): number {
	const value = BigInt(minor);
	if (value <= 0n) throw new Invalid(`${field} must be positive`, { field, reason: "not_positive" });
	if (value > BigInt(MAX_MINOR))
		throw new Invalid(`${field} must be at most ${MAX_MINOR} minor units`, { field, reason: "too_large" });
	return Number(value);
}

/** Minor units as a decimal string in the currency's digits ("1250", "USD" → "12.50"). */
export function formatMinor(minor: number | bigint, currency: string): string {
	const digits = digitsByCode.get(currency) ?? 2;
	const value = BigInt(minor);
	const sign = value < 0n ? "-" : "";
	const abs = (value < 0n ? -value : value).toString().padStart(digits + 1, "0");
	return digits === 0 ? `${sign}${abs}` : `${sign}${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
}

/** An int8 from postgres.js (a string) as an exact number; outside ±(2^53-1) is a bug, not rounding. */
export function fromDb(value: string | number | bigint): number {
	const big = BigInt(value);
	if (big > BigInt(MAX_MINOR) || big < -BigInt(MAX_MINOR))
		throw new Error(`amount ${big} is outside the exact JSON range`);
	return Number(big);
}

/** The amount in minor units from a body with `amountMinor` or `amount` (exactly one). */
export function amountOf(input: { amountMinor?: number; amount?: string }, currency: string): number {
	if (input.amountMinor !== undefined && input.amount !== undefined)
		throw new Invalid("send either amountMinor or amount, not both", { field: "amount", reason: "both" });
	currencyDigits(currency);
	if (input.amountMinor !== undefined) return checkMinor(input.amountMinor);
	if (input.amount !== undefined) return parseDecimal(input.amount, currency);
	throw new Invalid("amountMinor (or amount) is required", { field: "amountMinor", reason: "required" });
}
