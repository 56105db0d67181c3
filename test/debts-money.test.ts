/** Money as pure functions: ISO 4217 digits from `currency-codes`, decimal strings ↔ minor units, exact bounds. */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
	CURRENCIES,
	currencyDigits,
	formatMinor,
	fromDb,
	MAX_MINOR,
	parseDecimal,
} from "../src/debts/money.ts";
import { Invalid } from "../src/errors.ts";

describe("money", () => {
	test("digits come from the ISO table", () => {
		expect([
			currencyDigits("EUR"),
			currencyDigits("JPY"),
			currencyDigits("BHD"),
			currencyDigits("CLF"),
		]).toEqual([2, 0, 3, 4]);
		expect(CURRENCIES.length).toBeGreaterThan(150);
		expect(CURRENCIES).not.toContain("XXX");
		expect(() => currencyDigits("ABC")).toThrow(Invalid);
	});

	test("decimal strings: trailing zeros are fine, more significant decimals than the currency has are not", () => {
		expect(parseDecimal("12.50", "USD")).toBe(1250);
		expect(parseDecimal("12.5", "USD")).toBe(1250);
		expect(parseDecimal("12", "JPY")).toBe(12);
		expect(parseDecimal("12.000", "JPY")).toBe(12);
		expect(() => parseDecimal("12.5", "JPY")).toThrow(/decimal/);
		expect(() => parseDecimal("1.005", "USD")).toThrow(/decimal/);
		expect(() => parseDecimal("0.00", "USD")).toThrow(/positive/);
		expect(() => parseDecimal("1e3", "USD")).toThrow(Invalid);
		expect(parseDecimal("90071992547409.91", "USD")).toBe(MAX_MINOR);
		expect(() => parseDecimal("90071992547409.92", "USD")).toThrow(/at most/);
	});

	test("format and parse round-trip for every currency and any amount up to 2^53-1", () => {
		fc.assert(
			fc.property(
				fc.constantFrom(...CURRENCIES),
				fc.integer({ min: 1, max: MAX_MINOR }),
				(currency, minor) => {
					expect(parseDecimal(formatMinor(minor, currency), currency)).toBe(minor);
				},
			),
			{ seed: 12, numRuns: 2000 },
		);
		expect(formatMinor(-700, "USD")).toBe("-7.00");
		expect(formatMinor(5, "BHD")).toBe("0.005");
	});

	test("int8 from the database becomes a number only inside the exact range", () => {
		expect(fromDb("9007199254740991")).toBe(MAX_MINOR);
		expect(fromDb("-9007199254740991")).toBe(-MAX_MINOR);
		expect(() => fromDb("9007199254740992")).toThrow(/exact/);
	});
});
