/**
 * The reducer: one pure function from (state of one trigger key, input,
 * clock) to (state, decisions). Live processing, dry-runs and backtests all
 * call it, so a backtest over the same events and clock equals the live run
 * by construction. No I/O, no wall clock: time is the `now` it is given
 * (processing time: the event's receivedAt; a tick's horizon).
 *
 * Order per event: timers due by `now` fire first; then EMA takes the
 * observation, the condition is evaluated (with `ema`, `ema_prev`), the count
 * window takes a matching event, minimum samples are checked, the hold state
 * machine runs, and a candidate fire goes through debounce and cooldown.
 */
import type { CompiledTrigger } from "./definition.ts";
import { escapeOf, templateOf } from "./definition.ts";
import { emaStep } from "./ema.ts";
import {
	copy,
	type Decision,
	type DecisionKind,
	dueAt,
	type EventSnapshot,
	eventVars,
	type Input,
	initialState,
	type KeyState,
	plain,
	type Step,
} from "./key-state.ts";
import { render, TemplateTooLarge } from "./template.ts";
import { type ClosedBelow, closeDue, closeDueWindow, closeUpTo, countStep, latenessMs } from "./windows.ts";

export {
	type Decision,
	type DecisionKind,
	dueAt,
	type EventSnapshot,
	eventVars,
	type Input,
	initialState,
	type KeyState,
	type Step,
} from "./key-state.ts";

export interface ReduceOptions {
	/**
	 * A `condition_false` carries the value of each top-level operand (dry-runs). The processor and
	 * the backtest leave them out: the explain service computes them again from the stored event and
	 * the trigger version's condition (exact: CEL is pure; a condition reading the EMA gets the EMA
	 * values the decision stores).
	 */
	operands?: boolean;
	/** `prior` is the caller's own copy: the step may change it in place (the fold, within a batch). */
	owned?: boolean;
	/** The caller already found the condition not quiet-false (the fold): do not evaluate it for that again. */
	quietDecided?: boolean;
}

/** One input for one key: timers due by `now`, then the event (if any). */
export function reduce(
	trigger: CompiledTrigger,
	key: string,
	prior: KeyState | undefined,
	input: Input,
	now: number,
	deadlineMs: number,
	options: ReduceOptions = { operands: true },
): Step {
	if (input.kind === "event" && !options.quietDecided && falseLeavesState(trigger)) {
		const quiet = falseCondition(trigger, input.event, deadlineMs, options.operands === true);
		if (quiet) return { state: prior, decisions: [quiet] };
	}
	const decisions: Decision[] = [];
	let state: KeyState = prior ? (options.owned ? prior : copy(prior)) : initialState(now);
	const clock = Math.max(state.clock, now);
	// Timers in due order, each at its own instant.
	// Two timers may be due at one instant: each step handles one. A step that handles none ends it.
	for (let due = dueAt(trigger, state); due !== undefined && due <= clock; due = dueAt(trigger, state)) {
		const next = timer(trigger, key, state, due, decisions);
		if (!next) break;
		state = next;
	}
	state.clock = clock;
	if (input.kind === "event")
		state = onEvent(
			trigger,
			key,
			state,
			input.event,
			clock,
			deadlineMs,
			decisions,
			options.operands === true,
		);
	return { state, decisions };
}

/** The timer due at `at`, handled; undefined when none was (the loop's guarantee of progress). */
function timer(
	trigger: CompiledTrigger,
	key: string,
	s: KeyState,
	at: number,
	out: Decision[],
): KeyState | undefined {
	const count = trigger.clauses.count;
	if (count?.when === "below" && s.count) {
		const due = closeDue(s.count, count);
		if (due !== undefined && due <= at) {
			const closed = closeDueWindow(s.count, count);
			return closed ? closedBelow(trigger, key, s, at, closed, out) : s;
		}
	}
	const hold = trigger.clauses.hold;
	if (s.hold && hold) {
		if (s.hold.phase === "pending" && s.hold.signal && s.hold.since + (hold.forSeconds ?? 0) * 1000 <= at) {
			s.hold.phase = "firing";
			return candidate(
				trigger,
				key,
				s,
				at,
				s.hold.event ?? null,
				out,
				{ held: `${hold.forSeconds ?? 0} s` },
				true,
			);
		}
		if (s.hold.phase === "firing" && !s.hold.signal && hold.keepFiringForSeconds && !hold.resolve) {
			if (s.hold.lastTrue + hold.keepFiringForSeconds * 1000 <= at) {
				s.hold.phase = "inactive";
				out.push({
					kind: "resolved",
					at,
					eventSeq: null,
					reason: { keptFiringFor: `${hold.keepFiringForSeconds} s` },
				});
				return s;
			}
		}
	}
	const d = trigger.clauses.debounce;
	if (s.debounce && d) {
		const { event, candidates, firstAt } = s.debounce;
		s.debounce = undefined;
		return gate(trigger, key, s, at, event, out, { debounced: candidates, waitedMs: at - firstAt }, true);
	}
	return undefined;
}

function onEvent(
	trigger: CompiledTrigger,
	key: string,
	s: KeyState,
	e: EventSnapshot,
	now: number,
	deadlineMs: number,
	out: Decision[],
	withOperands: boolean,
): KeyState {
	const decide = (kind: DecisionKind, reason: Record<string, unknown>) =>
		out.push({ kind, at: now, eventSeq: e.seq, reason });
	const ema = trigger.clauses.ema;
	// The event's variables are shared by every trigger that hears it; only an EMA adds to them.
	let vars = eventVars(e);
	if (ema && trigger.emaValue) {
		vars = { ...vars };
		const r = trigger.emaValue.evaluate(vars, deadlineMs);
		if (!r.ok && !r.missing) {
			decide("condition_error", { in: "clauses.ema.value", code: r.code, message: r.message });
			return s;
		}
		const x = r.ok ? Number(r.value) : Number.NaN;
		if (r.ok && Number.isFinite(x)) s.ema = emaStep(s.ema, x, e.occurredAt, ema);
		Object.assign(vars, emaVars(s));
	}
	const result = trigger.condition.evaluate(vars, deadlineMs);
	let signal = result.ok && result.value === true;
	if (!result.ok && !result.missing) {
		decide("condition_error", { in: "condition", code: result.code, message: result.message });
		return s;
	}
	if (!signal) {
		const reason: Record<string, unknown> = result.ok ? { value: false } : { missing: result.message };
		if (withOperands) reason.operands = operandValues(trigger.condition, vars);
		else if (ema) reason.state = emaVars(s, true);
		decide("condition_false", reason);
	}
	const count = trigger.clauses.count;
	if (signal && count?.when === "below") {
		// Absence detection: the event is counted (closing the windows its event time passed first);
		// fires come from window-close timers only.
		const lateness = latenessMs(count);
		if (s.count && s.count.newest - e.occurredAt <= lateness) {
			const closed = closeUpTo(s.count, Math.max(s.count.newest, e.occurredAt), count);
			if (closed) s = closedBelow(trigger, key, s, now, closed, out);
		}
		const c = countStep(s.count, e.occurredAt, count);
		s.count = c.state;
		if (c.late) {
			decide("late", { occurredAt: new Date(e.occurredAt).toISOString(), lateBy: `${c.lateByMs / 1000} s` });
			return s;
		}
		const closes = closeDue(c.state, count);
		decide("state_unsatisfied", {
			count: `${c.inWindow}/${count.threshold} in ${count.windowSeconds} s`,
			firesBelow: count.threshold,
			...(closes === undefined ? {} : { closesAt: new Date(closes).toISOString() }),
		});
		return s;
	}
	if (signal && count) {
		const c = countStep(s.count, e.occurredAt, count);
		s.count = c.state;
		if (c.late) {
			decide("late", { occurredAt: new Date(e.occurredAt).toISOString(), lateBy: `${c.lateByMs / 1000} s` });
			signal = false;
		} else if (c.inWindow < count.threshold) {
			decide("state_unsatisfied", { count: `${c.inWindow}/${count.threshold} in ${count.windowSeconds} s` });
			signal = false;
		}
	}
	if (signal && ema && (s.ema?.samples ?? 0) < (ema.minSamples ?? 1)) {
		decide("state_unsatisfied", { ema: `${s.ema?.samples ?? 0}/${ema.minSamples} samples` });
		signal = false;
	}
	const hold = trigger.clauses.hold;
	if (!hold) return signal ? candidate(trigger, key, s, now, e, out, {}) : s;
	s.hold ??= { phase: "inactive", since: now, lastTrue: now, signal: false };
	const h = s.hold;
	if (signal) {
		h.lastTrue = now;
		h.event = e;
	}
	if (h.phase === "firing") {
		h.signal = signal;
		if (trigger.resolve) {
			const r = trigger.resolve.evaluate(vars, deadlineMs);
			if (r.ok && r.value === true) {
				h.phase = "inactive";
				decide("resolved", { resolve: trigger.resolve.source });
			}
		} else if (!signal && !hold.keepFiringForSeconds) {
			h.phase = "inactive";
			decide("resolved", {});
		}
		return s;
	}
	if (!signal) {
		if (h.phase === "pending") decide("resolved", { pendingSince: new Date(h.since).toISOString() });
		h.phase = "inactive";
		h.signal = false;
		return s;
	}
	if (h.phase === "inactive") {
		h.phase = "pending";
		h.since = now;
	}
	h.signal = true;
	if (h.since + (hold.forSeconds ?? 0) * 1000 <= now) {
		h.phase = "firing";
		return candidate(trigger, key, s, now, e, out, { held: `${hold.forSeconds ?? 0} s` });
	}
	decide("pending", { until: new Date(h.since + (hold.forSeconds ?? 0) * 1000).toISOString() });
	return s;
}

/**
 * A trigger whose state a false condition cannot change: no EMA (it takes every observation), no
 * hold (a false signal resolves it), no timers. For it, a false condition is decided at the event's
 * receivedAt and leaves the key's state as it is: not created, its clock not advanced.
 */
export const falseLeavesState = (t: CompiledTrigger): boolean =>
	!t.clauses.ema && !t.clauses.hold && !t.clauses.debounce && t.clauses.count?.when !== "below";

/**
 * Whether the condition is false for the event: true, the missing field's message (a missing field
 * makes it false), or undefined when it is not false (true, or an error).
 */
export function quietVerdict(
	trigger: CompiledTrigger,
	e: EventSnapshot,
	deadlineMs: number,
): true | string | undefined {
	const r = trigger.condition.evaluate(eventVars(e), deadlineMs);
	if (r.ok) return r.value === false ? true : undefined;
	return r.missing ? r.message : undefined;
}

/** The `condition_false` decision of an event, when the condition is false (or reads a missing field). */
export function falseCondition(
	trigger: CompiledTrigger,
	e: EventSnapshot,
	deadlineMs: number,
	withOperands: boolean,
): Decision | undefined {
	const verdict = quietVerdict(trigger, e, deadlineMs);
	if (verdict === undefined) return undefined;
	const reason: Record<string, unknown> = verdict === true ? FALSE_REASON : { missing: verdict };
	return {
		kind: "condition_false",
		at: e.receivedAt,
		eventSeq: e.seq,
		reason: withOperands ? { ...reason, operands: operandValues(trigger.condition, eventVars(e)) } : reason,
	};
}

const FALSE_REASON: Record<string, unknown> = Object.freeze({ value: false });

/** What a condition reads of the EMA (`plain`: as JSON, for a decision's reason). */
export function emaVars(s: Pick<KeyState, "ema">, plainValues = false): Record<string, unknown> {
	const samples = s.ema?.samples ?? 0;
	return {
		ema: s.ema?.value ?? 0,
		ema_prev: s.ema?.prev ?? s.ema?.value ?? 0,
		ema_samples: plainValues ? samples : BigInt(samples),
	};
}

/** The value of each top-level operand of a condition over `vars` (explain). */
export function operandValues(condition: CompiledTrigger["condition"], vars: Record<string, unknown>) {
	return condition.operands.map((o) => {
		try {
			return { operand: o.text, value: plain(o.run(vars)) };
		} catch {
			return { operand: o.text, value: null, missing: true };
		}
	});
}

/** A window closed below the threshold: a candidate fire, on the timer (no event). */
function closedBelow(
	trigger: CompiledTrigger,
	key: string,
	s: KeyState,
	at: number,
	closed: ClosedBelow,
	out: Decision[],
): KeyState {
	const count = trigger.clauses.count!;
	s.count!.inWindow = closed.count;
	return candidate(
		trigger,
		key,
		s,
		at,
		null,
		out,
		{
			windowClosed: { from: new Date(closed.from).toISOString(), to: new Date(closed.to).toISOString() },
			count: `${closed.count}/${count.threshold} in ${count.windowSeconds} s`,
		},
		true,
	);
}

/** A would-be fire: debounce holds it back, or it goes to the cooldown gate. */
function candidate(
	trigger: CompiledTrigger,
	key: string,
	s: KeyState,
	at: number,
	event: EventSnapshot | null,
	out: Decision[],
	why: Record<string, unknown>,
	fromTimer = false,
): KeyState {
	const d = trigger.clauses.debounce;
	if (d && event) {
		const prev = s.debounce;
		s.debounce = { firstAt: prev?.firstAt ?? at, lastAt: at, event, candidates: (prev?.candidates ?? 0) + 1 };
		out.push({
			kind: "debounced",
			at,
			eventSeq: fromTimer ? null : event.seq,
			reason: { until: new Date(dueAt(trigger, s)!).toISOString(), candidates: s.debounce.candidates },
		});
		return s;
	}
	return gate(trigger, key, s, at, event, out, why, fromTimer);
}

function gate(
	trigger: CompiledTrigger,
	key: string,
	s: KeyState,
	at: number,
	event: EventSnapshot | null,
	out: Decision[],
	why: Record<string, unknown>,
	fromTimer = false,
): KeyState {
	const seq = fromTimer ? null : (event?.seq ?? null);
	const cooldown = trigger.clauses.cooldownSeconds;
	if (cooldown && s.cooldown && at < s.cooldown.lastFireAt + cooldown * 1000) {
		s.cooldown.suppressed += 1;
		out.push({
			kind: "cooldown",
			at,
			eventSeq: seq,
			reason: {
				until: new Date(s.cooldown.lastFireAt + cooldown * 1000).toISOString(),
				suppressed: s.cooldown.suppressed,
			},
		});
		return s;
	}
	const suppressed = s.cooldown?.suppressed ?? 0;
	if (cooldown) s.cooldown = { lastFireAt: at, suppressed: 0 };
	const fireKey = `${trigger.id}:v${trigger.version}:${key}:${s.fires}`;
	s.fires += 1;
	const vars = {
		...(event ? eventVars(event) : {}),
		event: event
			? {
					...event,
					occurredAt: new Date(event.occurredAt).toISOString(),
					receivedAt: new Date(event.receivedAt).toISOString(),
				}
			: null,
		trigger: { id: trigger.id, name: trigger.name, version: trigger.version },
		fire: { key: fireKey, at: new Date(at).toISOString(), suppressed, reason: why },
		ema: s.ema ? { value: s.ema.value, prev: s.ema.prev, samples: s.ema.samples } : null,
		count: s.count ? s.count.inWindow : null,
	};
	try {
		const payload = render(templateOf(trigger.action), vars, escapeOf(trigger.action));
		out.push({
			kind: "fire",
			at,
			eventSeq: seq,
			reason: { ...why, suppressed },
			fire: { fireKey, suppressed, payload },
		});
	} catch (error) {
		if (!(error instanceof TemplateTooLarge)) throw error;
		out.push({ kind: "action_failed", at, eventSeq: seq, reason: { template: error.message } });
	}
	return s;
}
