/**
 * The plain-JS matcher in front of cel-js (src/triggers/cel.ts): for any
 * data and any && chain of comparisons (the shapes it answers and shapes it
 * must leave to cel-js), a condition evaluates exactly as cel-js alone
 * evaluates it: same value, same missing-field result, same error kind.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { compile } from "../src/triggers/cel.ts";

const scalar = fc.oneof(
	fc.integer({ min: -1, max: 2 }),
	fc.constantFrom(0.5, -0.5, 2.25, 1e300, -0, 2 ** 53),
	fc.constantFrom("a", "b", "", "é", "😀", "1"),
	fc.boolean(),
	fc.constant(null),
);
const value = fc.oneof(
	scalar,
	fc.array(scalar, { maxLength: 2 }),
	fc.dictionary(fc.constantFrom("x", "y", "constructor"), scalar),
);
const data = fc.oneof(
	fc.record({ a: scalar, b: value }, { requiredKeys: [] }),
	fc.dictionary(fc.constantFrom("a", "b", "c", "__proto__", "toString", "length", "constructor"), value, {
		maxKeys: 4,
	}),
);
const literal = fc.constantFrom(
	"0",
	"1",
	"2",
	"-1",
	"1.0",
	"-3",
	"2.25",
	"0.5",
	"9007199254740993",
	"99999999999999999999",
	"'a'",
	"''",
	"'😀'",
	"true",
	"false",
	"null",
	"1u",
	"[1]",
);
const path = fc.constantFrom(
	"data.a",
	"data.a",
	"data.a",
	"data.b",
	"data.c",
	"data.a.x",
	"data.b.y.x",
	"data.toString",
	"data.length",
	"data['a']",
	"event.data.a",
);
const op = fc.constantFrom("==", "!=", "<", "<=", ">", ">=");
const operand = fc.oneof(
	fc.tuple(path, op, literal).map(([p, o, l]) => `${p} ${o} ${l}`),
	fc.tuple(literal, op, path).map(([l, o, p]) => `${l} ${o} ${p}`),
	fc.tuple(path, literal).map(([p, l]) => `${p} + 0.0 < ${l}`),
	fc.tuple(path).map(([p]) => `has(${p})`),
);
const condition = fc.array(operand, { minLength: 1, maxLength: 3 }).map((ops) => ops.join(" && "));

const compiled = (source: string, matcher: boolean) => {
	try {
		return compile(source, {}, "bool", { matcher });
	} catch {
		return undefined;
	}
};
const comparable = (r: ReturnType<NonNullable<ReturnType<typeof compiled>>["evaluate"]>) =>
	r.ok
		? { ok: true, value: r.value }
		: { ok: false, missing: r.missing, code: r.missing ? undefined : r.code };

describe("the matcher decides as cel-js", () => {
	test("any data, any && chain of comparisons (fast-check)", () => {
		let checked = 0;
		fc.assert(
			fc.property(condition, data, (source, d) => {
				const fast = compiled(source, true);
				const cel = compiled(source, false);
				expect(fast === undefined).toBe(cel === undefined);
				if (!fast || !cel) return;
				const vars = {
					data: d,
					event: { type: "t", source: "s", externalId: "x", occurredAt: new Date(0), data: d },
				};
				expect(comparable(fast.evaluate(vars, 1000))).toEqual(comparable(cel.evaluate(vars, 1000)));
				checked++;
			}),
			{ numRuns: 20_000, seed: 20261202 },
		);
		expect(checked).toBeGreaterThan(1000);
	});

	test("it answers the shapes it knows, and leaves the others to cel-js", () => {
		const c = compile("data.a < 5 && data.b == 'x'", {}, "bool");
		expect(c.matcher?.({ a: 7, b: "x" })).toBe(false);
		expect(c.matcher?.({ a: 1, b: "x" })).toBe(true);
		expect(c.matcher?.({ a: "1", b: "x" })).toBeUndefined(); // a string against a number: cel-js decides
		expect(c.matcher?.({ b: "x" })).toBeUndefined(); // missing: cel-js names the field
		expect(c.matcher?.({ a: 7 })).toBe(false); // one certain false operand decides the chain
		expect(compile("data.a * 1.0 < 5.0", {}, "bool").matcher).toBeUndefined();
		expect(compile("data.a < 5", {}, "bool", { matcher: false }).matcher).toBeUndefined();
	});
});
