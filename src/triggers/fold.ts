/**
 * Folding a batch: every event through every trigger that hears it (the
 * prefilter by type, owner and source; a trigger hears events received from
 * its creation on), each under its key, with the reducer; then, when the
 * batch reached the horizon, every due timer. The processor and the backtest
 * both fold with this, so they decide alike.
 */
import type { CompiledTrigger } from "./definition.ts";
import type { OwnedEvent, StoredState } from "./processor-store.ts";
import { type Decision, dueAt, type KeyState, reduce } from "./reducer.ts";
import { keyOf, passesPrefilter } from "./routing.ts";

export interface LiveTrigger {
	compiled: CompiledTrigger;
	ownerId: string;
	/** ms: events received before it are not its. */
	createdAt: number;
}

export interface FoldResult {
	/** Changed states, by `stateId`. */
	states: Map<string, StoredState & { dueAt: number | undefined }>;
	decisions: { triggerId: string; version: number; key: string; decision: Decision }[];
	fires: { triggerId: string; ownerId: string; version: number; key: string; decision: Decision }[];
}

export const stateId = (triggerId: string, key: string) => `${triggerId}\u0000${key}`;

/** Triggers by the event types they hear. */
export function indexByType(triggers: readonly LiveTrigger[]): Map<string, LiveTrigger[]> {
	const index = new Map<string, LiveTrigger[]>();
	for (const t of triggers)
		for (const type of t.compiled.eventTypes) {
			const list = index.get(type) ?? [];
			list.push(t);
			index.set(type, list);
		}
	return index;
}

export class Folder {
	readonly result: FoldResult = { states: new Map(), decisions: [], fires: [] };
	private readonly index: Map<string, LiveTrigger[]>;
	private readonly byId: Map<string, LiveTrigger>;

	constructor(
		triggers: readonly LiveTrigger[],
		/** Known states (loaded for this batch); a state of another version is discarded. */
		private readonly known: Map<string, StoredState>,
		private readonly deadlineMs: number,
	) {
		this.index = indexByType(triggers);
		this.byId = new Map(triggers.map((t) => [t.compiled.id, t]));
	}

	/** The (trigger, key) pairs a list of events touches, to load their states first. */
	static keysOf(triggers: readonly LiveTrigger[], events: readonly OwnedEvent[], deadlineMs: number) {
		const index = indexByType(triggers);
		const pairs = new Map<string, { triggerId: string; key: string }>();
		for (const e of events)
			for (const t of index.get(e.type) ?? []) {
				if (!hears(t, e)) continue;
				const k = keyOf(t.compiled, e, deadlineMs);
				if (k.ok) pairs.set(stateId(t.compiled.id, k.key), { triggerId: t.compiled.id, key: k.key });
			}
		return [...pairs.values()];
	}

	private current(t: LiveTrigger, key: string): KeyState | undefined {
		const id = stateId(t.compiled.id, key);
		const s = this.result.states.get(id) ?? this.known.get(id);
		return s && s.version === t.compiled.version ? s.state : undefined;
	}

	private record(t: LiveTrigger, key: string, state: KeyState | undefined, decisions: Decision[]) {
		const { id, version } = t.compiled;
		if (state)
			this.result.states.set(stateId(id, key), {
				triggerId: id,
				key,
				version,
				state,
				dueAt: dueAt(t.compiled, state),
			});
		for (const decision of decisions) {
			this.result.decisions.push({ triggerId: id, version, key, decision });
			if (decision.kind === "fire")
				this.result.fires.push({ triggerId: id, ownerId: t.ownerId, version, key, decision });
		}
	}

	event(e: OwnedEvent): void {
		for (const t of this.index.get(e.type) ?? []) {
			if (!hears(t, e)) continue;
			const k = keyOf(t.compiled, e, this.deadlineMs);
			if (!k.ok) {
				this.record(t, "", undefined, [k.decision]);
				continue;
			}
			const step = reduce(
				t.compiled,
				k.key,
				this.current(t, k.key),
				{ kind: "event", event: e },
				e.receivedAt,
				this.deadlineMs,
			);
			this.record(t, k.key, step.state, step.decisions);
		}
	}

	/** Fires every timer due by `now` of the given states (and of those folded so far). */
	tick(now: number, due: readonly StoredState[]): void {
		const all = new Map<string, StoredState>();
		for (const s of due) {
			const id = stateId(s.triggerId, s.key);
			all.set(id, s);
			if (!this.known.has(id)) this.known.set(id, s);
		}
		for (const [id, s] of this.result.states) if (s.dueAt !== undefined && s.dueAt <= now) all.set(id, s);
		for (const s of all.values()) {
			const t = this.byId.get(s.triggerId);
			if (!t) continue;
			const state = this.current(t, s.key);
			if (!state) continue;
			const due = dueAt(t.compiled, state);
			if (due === undefined || due > now) continue;
			const step = reduce(t.compiled, s.key, state, { kind: "tick" }, now, this.deadlineMs);
			this.record(t, s.key, step.state, step.decisions);
		}
	}
}

const hears = (t: LiveTrigger, e: OwnedEvent) =>
	t.ownerId === e.ownerId && e.receivedAt >= t.createdAt && passesPrefilter(t.compiled, e);
