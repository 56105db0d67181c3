/** Prize allocation as properties (pure): exact sums, fair ties, exclusions, determinism. */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { allocatePrizes, type Standing } from "../src/fitness/prizes.ts";

const bpsArb = fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 8 }).map((weights) => {
	// Shares in basis points summing to exactly 10000.
	const total = weights.reduce((a, b) => a + b, 0);
	const bps = weights.map((w) => Math.floor((w * 10_000) / total));
	bps[0]! += 10_000 - bps.reduce((a, b) => a + b, 0);
	return bps.filter((b) => b > 0);
});

const standingsArb = fc.uniqueArray(
	fc.record({
		userId: fc.uuid(),
		score: fc.integer({ min: 0, max: 5 }),
		reachedAt: fc.constantFrom(
			"2030-01-01T00:00:00.000Z",
			"2030-01-01T00:00:01.000Z",
			"2030-01-01T00:00:02.000Z",
		),
		excluded: fc.boolean(),
		flagged: fc.constant(false),
	}),
	{ selector: (s) => s.userId, maxLength: 15 },
);

describe("prize allocation", () => {
	test("sums exactly to the pool whenever someone is eligible; nothing otherwise", () => {
		fc.assert(
			fc.property(fc.integer({ min: 0, max: 10_000_000 }), bpsArb, standingsArb, (pool, bps, standings) => {
				const out = allocatePrizes(pool, bps, standings);
				const total = out.reduce((a, b) => a + b.amountMinor, 0);
				const eligible = standings.filter((s) => !s.excluded && !s.flagged);
				expect(total).toBe(eligible.length > 0 && pool > 0 ? pool : 0);
				expect(out.every((a) => Number.isInteger(a.amountMinor) && a.amountMinor > 0)).toBe(true);
			}),
			{ numRuns: 500 },
		);
	});

	test("exact ties get equal shares (±1 minor unit), excluded and flagged get nothing, input order does not matter", () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 1, max: 1_000_000 }),
				bpsArb,
				standingsArb,
				fc.boolean(),
				(pool, bps, standings, flagFirst) => {
					const field: Standing[] = standings.map((s, i) => ({ ...s, flagged: flagFirst && i === 0 }));
					const out = allocatePrizes(pool, bps, field);
					const byUser = new Map(out.map((a) => [a.userId, a]));
					for (const s of field) if (s.excluded || s.flagged) expect(byUser.has(s.userId)).toBe(false);
					const groups = new Map<string, number[]>();
					for (const s of field.filter((s) => !s.excluded && !s.flagged)) {
						const key = `${s.score}|${s.reachedAt}`;
						groups.set(key, [...(groups.get(key) ?? []), byUser.get(s.userId)?.amountMinor ?? 0]);
					}
					for (const amounts of groups.values())
						expect(Math.max(...amounts) - Math.min(...amounts)).toBeLessThanOrEqual(1);
					const reversed = allocatePrizes(pool, bps, [...field].reverse());
					expect(reversed.sort((a, b) => (a.userId < b.userId ? -1 : 1))).toEqual(
						out.sort((a, b) => (a.userId < b.userId ? -1 : 1)),
					);
				},
			),
			{ numRuns: 500 },
		);
	});

	test("50/30/20 with a tie for second: the two share 30 + 20; an odd cent goes to the lower user id", () => {
		const s = (userId: string, score: number): Standing => ({
			userId,
			score,
			reachedAt: "2030-01-01T00:00:00.000Z",
			excluded: false,
			flagged: false,
		});
		const out = allocatePrizes(10_001, [5000, 3000, 2000], [s("b", 5), s("a", 5), s("c", 9), s("d", 1)]);
		expect(out).toEqual([
			{ userId: "c", rank: 1, amountMinor: 5001 },
			{ userId: "a", rank: 2, amountMinor: 2500 },
			{ userId: "b", rank: 2, amountMinor: 2500 },
		]);
		// 10001 · 50 % = 5000.5 → 5000 + the leftover unit (position 1); 30 % + 20 % = 5000 shared.
		expect(allocatePrizes(100, [6000, 4000], [s("x", 1)])).toEqual([
			{ userId: "x", rank: 1, amountMinor: 100 },
		]);
	});
});
