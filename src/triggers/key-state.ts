/**
 * The reducer's data: events as it sees them, the state of one trigger key,
 * the decisions it takes, and the pure helpers around them (the earliest
 * timer of a state, the CEL variables of an event, a copy-on-write copy).
 */
import type { CompiledTrigger } from "./definition.ts";
import type { EmaState } from "./ema.ts";
import { type CountState, closeDue } from "./windows.ts";

export interface EventSnapshot {
	id: string;
	seq: number;
	type: string;
	source: string;
	externalId: string;
	/** ms since epoch */
	occurredAt: number;
	receivedAt: number;
	data: Record<string, unknown>;
}

export interface KeyState {
	clock: number;
	fires: number;
	ema?: EmaState;
	count?: CountState;
	hold?: {
		phase: "inactive" | "pending" | "firing";
		since: number;
		lastTrue: number;
		signal: boolean;
		/** The latest event the signal held on (a timer's fire carries it). */
		event?: EventSnapshot;
	};
	cooldown?: { lastFireAt: number; suppressed: number };
	debounce?: { firstAt: number; lastAt: number; event: EventSnapshot; candidates: number };
}

export type DecisionKind =
	| "fire"
	| "condition_false"
	| "condition_error"
	| "state_unsatisfied"
	| "late"
	| "pending"
	| "cooldown"
	| "debounced"
	| "resolved"
	| "action_failed";

export interface Decision {
	kind: DecisionKind;
	at: number;
	eventSeq: number | null;
	reason: Record<string, unknown>;
	fire?: { fireKey: string; suppressed: number; payload: unknown };
}

export type Input = { kind: "event"; event: EventSnapshot } | { kind: "tick" };

export interface Step {
	/** undefined: the key has no state (a false condition of a timer-free trigger creates none). */
	state: KeyState | undefined;
	decisions: Decision[];
}

export const initialState = (now: number): KeyState => ({ clock: now, fires: 0 });

export const plain = (v: unknown): unknown =>
	typeof v === "bigint" ? Number(v) : v instanceof Date ? v.toISOString() : v;

const varsCache = new WeakMap<EventSnapshot, Record<string, unknown>>();

/** What CEL reads of an event (built once per event; callers copy before adding to it). */
export function eventVars(e: EventSnapshot): Record<string, unknown> {
	const cached = varsCache.get(e);
	if (cached) return cached;
	const vars = {
		event: {
			type: e.type,
			source: e.source,
			externalId: e.externalId,
			occurredAt: new Date(e.occurredAt),
			data: e.data,
		},
		data: e.data,
	};
	varsCache.set(e, vars);
	return vars;
}

/** A copy of a state that the step may change (event snapshots inside are never changed). */
export const copy = (s: KeyState): KeyState => ({
	...s,
	ema: s.ema && { ...s.ema },
	count: s.count && { ...s.count, times: [...s.count.times] },
	hold: s.hold && { ...s.hold },
	cooldown: s.cooldown && { ...s.cooldown },
	debounce: s.debounce && { ...s.debounce },
});

/** The earliest pending timer of a state (undefined: none). */
export function dueAt(trigger: CompiledTrigger, s: KeyState): number | undefined {
	let due: number | undefined;
	const hold = trigger.clauses.hold;
	if (s.hold && hold) {
		if (s.hold.phase === "pending" && s.hold.signal) due = s.hold.since + (hold.forSeconds ?? 0) * 1000;
		if (s.hold.phase === "firing" && !s.hold.signal && hold.keepFiringForSeconds && !hold.resolve)
			due = earliest(due, s.hold.lastTrue + hold.keepFiringForSeconds * 1000);
	}
	if (trigger.clauses.count?.when === "below") {
		const close = closeDue(s.count, trigger.clauses.count);
		if (close !== undefined) due = earliest(due, close);
	}
	const d = trigger.clauses.debounce;
	if (s.debounce && d) {
		const quiet = s.debounce.lastAt + d.periodSeconds * 1000;
		due = earliest(
			due,
			d.maxWaitSeconds ? Math.min(quiet, s.debounce.firstAt + d.maxWaitSeconds * 1000) : quiet,
		);
	}
	return due;
}

const earliest = (a: number | undefined, b: number) => (a === undefined || b < a ? b : a);
