/**
 * The reducer's semantics, pure (no database): EMA against pandas golden
 * vectors (1e-12), count windows (sliding, tumbling, lateness), hold with
 * `for` / keep_firing_for / resolve, cooldown with the suppressed count,
 * debounce with a max wait, CEL hardening (RE2, deadline, missing fields);
 * and, with fast-check, that folding any split of the input with the state
 * serialized between the parts (as the processor commits it) decides exactly
 * what one uninterrupted fold decides: the ground of kill -9 and backtest = live.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { compile } from "../src/triggers/cel.ts";
import { type CountClause, compileTrigger, type TriggerDefinition } from "../src/triggers/definition.ts";
import { type EmaState, emaStep } from "../src/triggers/ema.ts";
import { type Decision, dueAt, type EventSnapshot, type KeyState, reduce } from "../src/triggers/reducer.ts";
import golden from "./fixtures/ema-golden.json";

const T0 = Date.UTC(2030, 0, 1);
const ev = (
	seq: number,
	atSec: number,
	data: Record<string, unknown>,
	occurredSec = atSec,
): EventSnapshot => ({
	id: `e${seq}`,
	seq,
	type: "m",
	source: "s",
	externalId: `x${seq}`,
	occurredAt: T0 + occurredSec * 1000,
	receivedAt: T0 + atSec * 1000,
	data,
});
const def = (over: Partial<TriggerDefinition> = {}): TriggerDefinition => ({
	name: "t",
	eventTypes: ["m"],
	condition: "data.v > 10",
	action: {
		kind: "webhook",
		url: "https://example.com",
		body: { v: "{{data.v}}", s: "{{fire.suppressed}}" },
	},
	...over,
});

/** Folds events (and a final tick at `endSec`) for one key; returns every decision. */
function run(d: TriggerDefinition, events: EventSnapshot[], endSec?: number) {
	const trigger = compileTrigger(d, { id: "t1", version: 1 });
	let state: KeyState | undefined;
	const out: Decision[] = [];
	for (const e of events) {
		const step = reduce(trigger, "", state, { kind: "event", event: e }, e.receivedAt, 1000);
		state = step.state;
		out.push(...step.decisions);
	}
	if (endSec !== undefined) {
		const step = reduce(trigger, "", state, { kind: "tick" }, T0 + endSec * 1000, 1000);
		state = step.state;
		out.push(...step.decisions);
	}
	return { out, state, kinds: out.map((x) => x.kind) };
}

describe("EMA", () => {
	test("equals pandas ewm(adjust=False) to 1e-12 (fixed alpha and half-life over irregular times)", () => {
		expect(golden.cases.length).toBe(7);
		for (const c of golden.cases as {
			alpha?: number;
			halfLifeSeconds?: number;
			values: number[];
			times: number[];
			expected: number[];
		}[]) {
			let s: EmaState | undefined;
			c.values.forEach((x, i) => {
				s = emaStep(s, x, c.times[i]!, { value: "x", alpha: c.alpha, halfLifeSeconds: c.halfLifeSeconds });
				expect(Math.abs(s.value - c.expected[i]!)).toBeLessThanOrEqual(
					1e-12 * Math.max(1, Math.abs(c.expected[i]!)),
				);
			});
		}
	});

	test("first value = first observation; conditions read ema and ema_prev; minSamples holds it back", () => {
		const d = def({
			condition: "ema > ema_prev && ema > 10.0",
			clauses: { ema: { value: "data.v", alpha: 0.5, minSamples: 3 } },
		});
		const { out, kinds } = run(d, [
			ev(1, 0, { v: 20 }),
			ev(2, 1, { v: 30 }),
			ev(3, 2, { v: 40 }),
			ev(4, 3, {}),
		]);
		// Event 4 has no `v`: no observation; the state still reads ema 32.5 > ema_prev 25.
		expect(kinds).toEqual(["condition_false", "state_unsatisfied", "fire", "fire"]);
		expect(out[1]!.reason.ema).toBe("2/3 samples");
		expect(out[2]!.fire!.payload).toEqual({ v: 40, s: 0 });
	});
});

describe("count windows", () => {
	test("sliding (t − W, t]: the event W seconds older has left", () => {
		const d = def({ clauses: { count: { mode: "sliding", windowSeconds: 10, threshold: 3 } } });
		const { out, kinds } = run(d, [
			ev(1, 0, { v: 11 }),
			ev(2, 5, { v: 11 }),
			ev(3, 10, { v: 11 }),
			ev(4, 11, { v: 11 }),
		]);
		expect(kinds).toEqual([
			"state_unsatisfied",
			"state_unsatisfied",
			"state_unsatisfied",
			"fire", // (1, 11]: 5, 10, 11
		]);
		expect(out[2]!.reason.count).toBe("2/3 in 10 s"); // (0, 10]: 5 and 10
		const hit = run(d, [ev(1, 1, { v: 11 }), ev(2, 5, { v: 11 }), ev(3, 10, { v: 11 })]);
		expect(hit.kinds.at(-1)).toBe("fire");
	});

	test("tumbling [kW, (k+1)W) aligned to UTC; a new window starts from zero", () => {
		const d = def({ clauses: { count: { mode: "tumbling", windowSeconds: 10, threshold: 2 } } });
		const { kinds } = run(d, [ev(1, 8, { v: 11 }), ev(2, 10, { v: 11 }), ev(3, 19, { v: 11 })]);
		expect(kinds).toEqual(["state_unsatisfied", "state_unsatisfied", "fire"]);
	});

	test("events later than the allowed lateness are reported late, not counted, not dropped silently", () => {
		const d = def({
			clauses: { count: { mode: "sliding", windowSeconds: 60, threshold: 3, allowedLatenessSeconds: 5 } },
		});
		const { out, kinds, state } = run(d, [
			ev(1, 0, { v: 11 }, 100),
			ev(2, 1, { v: 11 }, 97),
			ev(3, 2, { v: 11 }, 90),
		]);
		expect(kinds).toEqual(["state_unsatisfied", "state_unsatisfied", "late"]);
		expect(out[2]!.reason.lateBy).toBe("10 s");
		expect(state!.count!.late).toBe(1);
	});
});

describe("count windows: when below (window-close timers)", () => {
	/** A tumbling 10 s heartbeat count (threshold 1) that fires below. */
	const below = (count: Partial<CountClause>) =>
		def({
			clauses: { count: { mode: "tumbling", windowSeconds: 10, threshold: 1, when: "below", ...count } },
		});
	test("tumbling: fires once when a window that reached the threshold is followed by one that closes below", () => {
		const d = def({
			clauses: { count: { mode: "tumbling", windowSeconds: 10, threshold: 2, when: "below" } },
		});
		// Windows [0,10) and [10,20) reach 2; [20,30) gets one event: it closes below at 30.
		const { out, kinds, state } = run(
			d,
			[
				ev(1, 1, { v: 11 }),
				ev(2, 2, { v: 11 }),
				ev(3, 11, { v: 11 }),
				ev(4, 12, { v: 11 }),
				ev(5, 21, { v: 11 }),
			],
			100,
		);
		expect(kinds).toEqual([...Array(5).fill("state_unsatisfied"), "fire"]);
		const fire = out.at(-1)!;
		expect(fire.at).toBe(T0 + 30_000); // on the timer, at the close: not at the tick's horizon
		expect(fire.eventSeq).toBeNull();
		expect(fire.reason).toMatchObject({
			count: "1/2 in 10 s",
			windowClosed: { from: new Date(T0 + 20_000).toISOString(), to: new Date(T0 + 30_000).toISOString() },
		});
		expect(out[4]!.reason.closesAt).toBe(new Date(T0 + 30_000).toISOString());
		// Disarmed: the empty windows after it fire nothing, and leave no timer behind.
		expect(state!.count!.armed).toBe(false);
		expect(dueAt(compileTrigger(d, { id: "t1", version: 1 }), state!)).toBeUndefined();
	});
	test("tumbling: a window with no event at all closes below (heartbeat missing), after the lateness", () => {
		const d = below({ allowedLatenessSeconds: 2 });
		const { out, kinds } = run(d, [ev(1, 5, { v: 11 }), ev(2, 15, { v: 11 })], 60);
		expect(kinds).toEqual(["state_unsatisfied", "state_unsatisfied", "fire"]);
		expect(out[2]!.at).toBe(T0 + 32_000); // [20, 30) is empty; closed at 30 + 2 s lateness
		expect(out[2]!.reason.count).toBe("0/1 in 10 s");
		// A first window below the threshold does not fire: nothing had been reached yet.
		expect(run(d, [], 60).kinds).toEqual([]);
	});
	test("below is tumbling only (422 for sliding: its drops would depend on when late events arrive)", () => {
		expect(() =>
			compileTrigger(
				def({ clauses: { count: { mode: "sliding", windowSeconds: 10, threshold: 2, when: "below" } } }),
			),
		).toThrow("needs mode tumbling");
	});
	test("an event in a later window closes the windows before it (event time), then counts", () => {
		const d = below({ allowedLatenessSeconds: 30 });
		// Received at 5 with occurredAt 25 (a clock ahead): [0,10) reached 1, [10,20) closes empty.
		const { out, kinds } = run(d, [ev(1, 1, { v: 11 }), ev(2, 5, { v: 11 }, 25)]);
		expect(kinds).toEqual(["state_unsatisfied", "fire", "state_unsatisfied"]);
		expect(out[1]!.reason.windowClosed).toEqual({
			from: new Date(T0 + 10_000).toISOString(),
			to: new Date(T0 + 20_000).toISOString(),
		});
	});
	test("fractional windows and lateness: every close moves on (whole milliseconds, closed by index)", () => {
		for (const mode of ["tumbling"] as const)
			for (const windowSeconds of [0.3, 0.7, 1.1, 12.34, 0.123])
				for (const allowedLatenessSeconds of [0, 0.1, 0.3, 2.7]) {
					const d = def({
						clauses: { count: { mode, windowSeconds, threshold: 1, when: "below", allowedLatenessSeconds } },
					});
					const events = [ev(1, 0.05, { v: 11 }), ev(2, 0.35, { v: 11 }), ev(3, 40, { v: 11 })];
					const { kinds, state } = run(d, events, 100);
					// Each heartbeat gap longer than the window fires once; the run ends.
					expect(kinds.filter((k) => k === "fire").length).toBeGreaterThanOrEqual(1);
					expect(dueAt(compileTrigger(d, { id: "t1", version: 1 }), state!)).toBeUndefined();
				}
	});
	test("below cannot be combined with hold or debounce (422 at save)", () => {
		for (const clauses of [
			{
				count: { mode: "tumbling" as const, windowSeconds: 5, threshold: 1, when: "below" as const },
				hold: { forSeconds: 1 },
			},
			{
				count: { mode: "tumbling" as const, windowSeconds: 5, threshold: 1, when: "below" as const },
				debounce: { periodSeconds: 1 },
			},
		])
			expect(() => compileTrigger(def({ clauses }))).toThrow("cannot be combined");
	});
});

describe("hold", () => {
	test("two timers due at the same instant both fire (keep_firing_for resolves, debounce fires)", () => {
		const d = def({ clauses: { hold: { keepFiringForSeconds: 5 }, debounce: { periodSeconds: 5 } } });
		const { out } = run(d, [ev(1, 0, { v: 11 }), ev(2, 1, { v: 0 }), ev(3, 7, { v: 11 })], 20);
		expect(out.map((x) => `${x.kind}@${(x.at - T0) / 1000}`)).toEqual([
			"debounced@0",
			"condition_false@1",
			"resolved@5",
			"fire@5",
			"debounced@7",
			"fire@12",
		]);
	});
	const d = def({ clauses: { hold: { forSeconds: 30 } } });
	test("fires only after the signal held `for`, on the timer, once (edge)", () => {
		const { out, kinds } = run(d, [ev(1, 0, { v: 11 }), ev(2, 10, { v: 12 })], 31);
		expect(kinds).toEqual(["pending", "pending", "fire"]);
		expect(out[2]!.at).toBe(T0 + 30_000);
		expect(out[2]!.eventSeq).toBeNull();
		expect(out[2]!.fire!.payload).toEqual({ v: 12, s: 0 }); // the latest event it held on
		const later = run(d, [ev(1, 0, { v: 11 }), ev(2, 40, { v: 12 }), ev(3, 50, { v: 13 })]);
		expect(later.kinds).toEqual(["pending", "fire"]); // firing stays firing: no second fire
	});
	test("a signal that stops while pending never fires", () => {
		expect(run(d, [ev(1, 0, { v: 11 }), ev(2, 10, { v: 1 })], 100).kinds).toEqual([
			"pending",
			"condition_false",
			"resolved",
		]);
	});
	test("keep_firing_for: resolves that long after the signal stopped; resolve: only on its condition", () => {
		const keep = def({ clauses: { hold: { keepFiringForSeconds: 20 } } });
		const k = run(keep, [ev(1, 0, { v: 11 }), ev(2, 5, { v: 1 })], 100);
		expect(k.kinds).toEqual(["fire", "condition_false", "resolved"]);
		expect(k.out[2]!.at).toBe(T0 + 20_000);
		const resolve = def({ clauses: { hold: { resolve: "data.v < 5" } } });
		const r = run(resolve, [
			ev(1, 0, { v: 11 }),
			ev(2, 5, { v: 7 }),
			ev(3, 6, { v: 4 }),
			ev(4, 7, { v: 12 }),
		]);
		expect(r.kinds).toEqual(["fire", "condition_false", "condition_false", "resolved", "fire"]);
	});
});

describe("cooldown and debounce", () => {
	test("cooldown: one fire per period; the next reports how many were suppressed", () => {
		const d = def({ clauses: { cooldownSeconds: 60 } });
		const { out, kinds } = run(d, [
			ev(1, 0, { v: 11 }),
			ev(2, 10, { v: 11 }),
			ev(3, 20, { v: 11 }),
			ev(4, 61, { v: 11 }),
		]);
		expect(kinds).toEqual(["fire", "cooldown", "cooldown", "fire"]);
		expect(out[1]!.reason.until).toBe(new Date(T0 + 60_000).toISOString());
		expect(out[3]!.fire!.suppressed).toBe(2);
		expect(out[3]!.fire!.payload).toEqual({ v: 11, s: 2 });
	});
	test("debounce: fires once, `period` after the last candidate, with the latest event", () => {
		const d = def({ clauses: { debounce: { periodSeconds: 10 } } });
		const { out, kinds } = run(d, [ev(1, 0, { v: 11 }), ev(2, 5, { v: 12 }), ev(3, 9, { v: 13 })], 100);
		expect(kinds).toEqual(["debounced", "debounced", "debounced", "fire"]);
		expect(out[3]!.at).toBe(T0 + 19_000);
		expect(out[3]!.fire!.payload).toEqual({ v: 13, s: 0 });
	});
	test("debounce max wait: a steady stream still fires every maxWait", () => {
		const d = def({ clauses: { debounce: { periodSeconds: 10, maxWaitSeconds: 20 } } });
		const events = Array.from({ length: 9 }, (_, i) => ev(i + 1, i * 5, { v: 11 + i }));
		const fires = run(d, events, 100).out.filter((x) => x.kind === "fire");
		expect(fires.map((f) => (f.at - T0) / 1000)).toEqual([20, 40, 50]);
	});
});

describe("CEL hardening", () => {
	test("a catastrophic pattern on 10,000 characters finishes in < 50 ms (RE2)", () => {
		const c = compile("data.s.matches('^(a+)+$')", {}, "bool");
		const vars = { data: { s: `${"a".repeat(10_000)}b` }, event: {} };
		c.evaluate(vars, 1000); // compile + JIT once
		const started = performance.now();
		expect(c.evaluate(vars, 1000)).toEqual({ ok: true, value: false });
		expect(performance.now() - started).toBeLessThan(50);
	});
	test("an overrun of the deadline is a condition_error, never a fire", () => {
		const d = def({ condition: "data.s.matches('(x+x+)+y') || data.v > 10" });
		const trigger = compileTrigger(d, { id: "t", version: 1 });
		const e = ev(1, 0, { v: 11, s: "x".repeat(20_000) });
		const step = reduce(trigger, "", undefined, { kind: "event", event: e }, e.receivedAt, 0.000001);
		expect(step.decisions.map((x) => x.kind)).toEqual(["condition_error"]);
		expect(step.decisions[0]!.reason.code).toBe("deadline_exceeded");
	});
	test("a missing field evaluates to false, with the field named", () => {
		const { out } = run(def(), [ev(1, 0, { other: 1 })]);
		expect(out[0]!.kind).toBe("condition_false");
		expect(String(out[0]!.reason.missing)).toContain("v");
	});
});

describe("folding is split-invariant (fast-check)", () => {
	const defs = [
		def({
			clauses: {
				count: { mode: "tumbling", windowSeconds: 6, threshold: 2, when: "below" },
				cooldownSeconds: 5,
			},
		}),
		def({
			clauses: {
				count: { mode: "tumbling", windowSeconds: 7, threshold: 1, when: "below", allowedLatenessSeconds: 2 },
			},
		}),
		// Two timers due at one instant (keep_firing_for and debounce): each one fires.
		def({ clauses: { hold: { keepFiringForSeconds: 5 }, debounce: { periodSeconds: 5 } } }),
		def({ clauses: { hold: { forSeconds: 7 }, cooldownSeconds: 11 } }),
		def({ clauses: { debounce: { periodSeconds: 5, maxWaitSeconds: 12 } } }),
		def({ clauses: { count: { mode: "sliding", windowSeconds: 9, threshold: 3 }, cooldownSeconds: 4 } }),
		def({
			condition: "ema > 12.0",
			clauses: { ema: { value: "data.v", halfLifeSeconds: 3 }, hold: { keepFiringForSeconds: 6 } },
		}),
	];
	test("any cut into parts, with the state through JSON between them, decides the same", () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 0, max: defs.length - 1 }),
				fc.array(fc.record({ gap: fc.integer({ min: 0, max: 8 }), v: fc.integer({ min: 0, max: 25 }) }), {
					maxLength: 40,
				}),
				fc.array(fc.nat(), { maxLength: 6 }),
				(which, steps, cuts) => {
					let at = 0;
					const events = steps.map((s, i) => {
						at += s.gap;
						return ev(i + 1, at, { v: s.v });
					});
					const whole = run(defs[which]!, events, at + 100).out;
					const trigger = compileTrigger(defs[which]!, { id: "t1", version: 1 });
					const bounds = [...new Set(cuts.map((c) => c % (events.length + 1)))].sort((a, b) => a - b);
					let state: string | undefined;
					const parts: Decision[] = [];
					let from = 0;
					for (const to of [...bounds, events.length]) {
						for (const e of events.slice(from, to)) {
							const step = reduce(
								trigger,
								"",
								state ? JSON.parse(state) : undefined,
								{ kind: "event", event: e },
								e.receivedAt,
								1000,
							);
							parts.push(...step.decisions);
							state = JSON.stringify(step.state);
						}
						from = to;
						// A restart in between may tick at any horizon not past the next event.
						const next = events[to]?.receivedAt ?? T0 + (at + 100) * 1000;
						const tick = reduce(
							trigger,
							"",
							state ? JSON.parse(state) : undefined,
							{ kind: "tick" },
							next,
							1000,
						);
						parts.push(...tick.decisions);
						state = JSON.stringify(tick.state);
					}
					expect(JSON.stringify(parts)).toBe(JSON.stringify(whole));
				},
			),
			{ numRuns: 300 },
		);
	});
});
