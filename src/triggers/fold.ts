/**
 * Folding a batch: every event through every trigger that hears it (the
 * prefilter by owner, type and source; a trigger hears events received from
 * its creation on), each under its key, with the reducer; then, when the
 * batch reached the horizon, every due timer. The processor and the backtest
 * both fold with this, so they decide alike.
 *
 * The fold runs trigger by trigger: a trigger's events stay in seq order and
 * no state is shared between triggers, so this decides exactly what going
 * event by event would, with one trigger's condition and states at hand
 * while it runs through its events (bench/triggers-fold.ts).
 */
import type { CompiledTrigger } from "./definition.ts";
import type { OwnedEvent, StoredState } from "./processor-store.ts";
import {
	type Decision,
	type DecisionKind,
	dueAt,
	falseLeavesState,
	type Input,
	type KeyState,
	quietVerdict,
	type ReduceOptions,
	reduce,
} from "./reducer.ts";
import { keyOf } from "./routing.ts";

export interface LiveTrigger {
	compiled: CompiledTrigger;
	ownerId: string;
	/** ms: events received before it are not its. */
	createdAt: number;
}

/** One trigger's false conditions of a batch that left its state untouched: stored as one row. */
export interface QuietFalse {
	triggerId: string;
	version: number;
	/** [seq, key, at (ms), missing-field message?], in seq order. */
	events: [number, string, number, string?][];
}

export interface FoldResult {
	/** Changed states. */
	states: (StoredState & { dueAt: number | undefined })[];
	/** The decisions, in order per trigger, but the quiet false conditions (one row each). */
	decisions: { triggerId: string; version: number; key: string; decision: Decision }[];
	/** The quiet false conditions, one group per trigger (one row each; `condition_false`). */
	quiet: QuietFalse[];
	fires: { triggerId: string; ownerId: string; version: number; key: string; decision: Decision }[];
}

/** States by trigger id, then key (no string of both to build and hash per lookup). */
export type KnownStates = Map<string, Map<string, StoredState>>;

export function knownStates(list: Iterable<StoredState>, into: KnownStates = new Map()): KnownStates {
	for (const s of list) {
		let keys = into.get(s.triggerId);
		if (!keys) {
			keys = new Map();
			into.set(s.triggerId, keys);
		}
		keys.set(s.key, s);
	}
	return into;
}

const routeOf = (ownerId: string, type: string) => `${ownerId}\u0000${type}`;

/** A set of live triggers indexed by (owner, event type) and by id: build it once per trigger set. */
export class TriggerSet {
	readonly byRoute = new Map<string, LiveTrigger[]>();
	readonly byId = new Map<string, LiveTrigger>();
	constructor(readonly triggers: readonly LiveTrigger[]) {
		for (const t of triggers) {
			this.byId.set(t.compiled.id, t);
			for (const type of t.compiled.eventTypes) {
				const route = routeOf(t.ownerId, type);
				const list = this.byRoute.get(route);
				if (list) list.push(t);
				else this.byRoute.set(route, [t]);
			}
		}
	}
}

/** A touched state: the known entry itself (the folder's), its trigger, and whether a step changed it. */
interface Slot {
	trigger: LiveTrigger;
	entry: StoredState;
	/** The state (of the trigger's version); undefined until the first step. */
	state: KeyState | undefined;
}

type KeyResult = ReturnType<typeof keyOf>;
const NO_KEY: KeyResult = { ok: true, key: "" };

/** The batch's events by (owner, type), each list in seq order. */
function byRoute(list: readonly OwnedEvent[]): Map<string, OwnedEvent[]> {
	const routes = new Map<string, OwnedEvent[]>();
	for (const e of list) {
		const route = routeOf(e.ownerId, e.type);
		const same = routes.get(route);
		if (same) same.push(e);
		else routes.set(route, [e]);
	}
	return routes;
}

/** A trigger's events of the batch, in seq order. */
function eventsOf(t: LiveTrigger, routes: Map<string, OwnedEvent[]>): readonly OwnedEvent[] {
	if (t.compiled.eventTypes.size === 1) {
		const [type] = t.compiled.eventTypes;
		return routes.get(routeOf(t.ownerId, type!)) ?? [];
	}
	const all: OwnedEvent[] = [];
	for (const type of t.compiled.eventTypes)
		for (const e of routes.get(routeOf(t.ownerId, type)) ?? []) all.push(e);
	return all.sort((a, b) => a.seq - b.seq);
}

/**
 * The triggers that hear any of the batch's events, each with its events in seq order: `visit`
 * gets them trigger by trigger. A trigger of one type (the usual) takes its route's list as it is.
 */
function eachTrigger(
	set: TriggerSet,
	routes: Map<string, OwnedEvent[]>,
	visit: (t: LiveTrigger, events: readonly OwnedEvent[]) => void,
): void {
	let multi: Set<LiveTrigger> | undefined;
	for (const [route, list] of routes) {
		const triggers = set.byRoute.get(route);
		if (!triggers) continue;
		for (const t of triggers) {
			if (t.compiled.eventTypes.size === 1) visit(t, list);
			else {
				multi ??= new Set();
				multi.add(t);
			}
		}
	}
	if (multi) for (const t of multi) visit(t, eventsOf(t, routes));
}

/**
 * Keys of events under key expressions, each evaluated once per event (triggers share
 * expressions): per list of events (a route's, shared by its triggers) and key expression, an
 * array in the list's order, so a trigger running through its list reads its keys by index.
 */
class KeyCache {
	private readonly byList = new Map<readonly OwnedEvent[], Map<string, (KeyResult | undefined)[]>>();
	constructor(private readonly deadlineMs: number) {}
	/** The keys of `list` under `t`'s key expression (undefined: no key expression). */
	of(t: LiveTrigger, list: readonly OwnedEvent[]): ((i: number) => KeyResult) | undefined {
		const expr = t.compiled.key;
		if (!expr) return undefined;
		let bySource = this.byList.get(list);
		if (!bySource) {
			bySource = new Map();
			this.byList.set(list, bySource);
		}
		let keys = bySource.get(expr.source);
		if (!keys) {
			keys = new Array(list.length);
			bySource.set(expr.source, keys);
		}
		const cache = keys;
		return (i) => {
			let k = cache[i];
			if (!k) {
				k = keyOf(t.compiled, list[i]!, this.deadlineMs);
				cache[i] = k;
			}
			return k;
		};
	}
}

/**
 * Quiet verdicts (`quietVerdict`: the condition is false) per list of events and condition, in the
 * list's order: evaluated once, so the states loaded for a batch and the fold agree even when an
 * evaluation overruns its deadline one time and not the next.
 */
class VerdictCache {
	private readonly byList = new Map<readonly OwnedEvent[], Map<string, (true | string | null)[]>>();
	constructor(private readonly deadlineMs: number) {}
	of(t: LiveTrigger, list: readonly OwnedEvent[]): (i: number) => true | string | undefined {
		let bySource = this.byList.get(list);
		if (!bySource) {
			bySource = new Map();
			this.byList.set(list, bySource);
		}
		const source = t.compiled.condition.source;
		let verdicts = bySource.get(source);
		if (!verdicts) {
			verdicts = new Array(list.length);
			bySource.set(source, verdicts);
		}
		const cache = verdicts;
		return (i) => {
			let v = cache[i];
			if (v === undefined) {
				v = quietVerdict(t.compiled, list[i]!, this.deadlineMs) ?? null;
				cache[i] = v;
			}
			return v ?? undefined;
		};
	}
}

/** The prefilter beyond owner and type: received from the trigger's creation on, of its sources. */
const hears = (t: LiveTrigger, e: OwnedEvent) =>
	e.receivedAt >= t.createdAt && (t.compiled.sourceIds.size === 0 || t.compiled.sourceIds.has(e.source));

/** How many decisions of each kind a fold took (the quiet false conditions included). */
export function decisionCounts(result: Pick<FoldResult, "decisions" | "quiet">): Map<DecisionKind, number> {
	const counts = new Map<DecisionKind, number>();
	for (const d of result.decisions) counts.set(d.decision.kind, (counts.get(d.decision.kind) ?? 0) + 1);
	let quiet = 0;
	for (const g of result.quiet) quiet += g.events.length;
	if (quiet > 0) counts.set("condition_false", (counts.get("condition_false") ?? 0) + quiet);
	return counts;
}

export class Folder {
	private readonly decisions: FoldResult["decisions"] = [];
	private readonly quiet: QuietFalse[] = [];
	private readonly fires: FoldResult["fires"] = [];
	private readonly set: TriggerSet;
	/** The states a step changed, each once. */
	private readonly changed: Slot[] = [];
	private readonly slots = new Map<StoredState, Slot>();
	private readonly options: ReduceOptions;
	private readonly keys: KeyCache;
	private readonly verdicts: VerdictCache;
	private routed: { events: readonly OwnedEvent[]; routes: Map<string, OwnedEvent[]> } | undefined;

	constructor(
		triggers: readonly LiveTrigger[] | TriggerSet,
		/**
		 * Known states (loaded for this batch; a state of another version is discarded). They become
		 * the folder's: it changes them in place (the processor loads them afresh for every batch).
		 */
		private readonly known: KnownStates,
		private readonly deadlineMs: number,
		/** With the value of each operand of a false condition (dry-run); the processor leaves them to explain. */
		operands = false,
	) {
		this.set = triggers instanceof TriggerSet ? triggers : new TriggerSet(triggers);
		// The folder decides the quiet false conditions itself (once): reduce need not look again.
		this.options = { operands, owned: true, quietDecided: true };
		this.keys = new KeyCache(deadlineMs);
		this.verdicts = new VerdictCache(deadlineMs);
	}

	/** The changed states, decisions and fires so far. */
	get result(): FoldResult {
		const states: FoldResult["states"] = this.changed
			.filter((slot) => slot.state !== undefined)
			.map(({ trigger, entry, state }) => ({
				triggerId: entry.triggerId,
				key: entry.key,
				version: entry.version,
				state: state!,
				dueAt: dueAt(trigger.compiled, state!),
			}));
		return {
			states,
			decisions: this.decisions,
			quiet: this.quiet,
			fires: this.fires,
		};
	}

	/**
	 * The (trigger, key) pairs a batch touches, to load their states first (into the `known` map
	 * given to the constructor). Keys and quiet verdicts are evaluated here once and reused by
	 * `events` for the same list.
	 */
	prepare(events: readonly OwnedEvent[]): { triggerId: string; key: string }[] {
		const pairs: { triggerId: string; key: string }[] = [];
		eachTrigger(this.set, this.routesOf(events), (t, list) => {
			const seen = new Set<string>();
			const quiet = falseLeavesState(t.compiled) ? this.verdicts.of(t, list) : undefined;
			const keyAt = this.keys.of(t, list);
			for (let i = 0; i < list.length; i++) {
				const e = list[i]!;
				if (!hears(t, e)) continue;
				const k = keyAt ? keyAt(i) : NO_KEY;
				if (!k.ok || seen.has(k.key)) continue;
				// A false condition that leaves the state as it is needs no state loaded.
				if (quiet?.(i) !== undefined) continue;
				seen.add(k.key);
				pairs.push({ triggerId: t.compiled.id, key: k.key });
			}
		});
		return pairs;
	}

	private routesOf(events: readonly OwnedEvent[]): Map<string, OwnedEvent[]> {
		if (this.routed?.events !== events) this.routed = { events, routes: byRoute(events) };
		return this.routed.routes;
	}

	/** The known states of a trigger (created empty when it has none). */
	private statesOf(t: LiveTrigger): Map<string, StoredState> {
		let keys = this.known.get(t.compiled.id);
		if (!keys) {
			keys = new Map();
			this.known.set(t.compiled.id, keys);
		}
		return keys;
	}

	/** Runs one input through the reducer for the state of (t, key). */
	private step(t: LiveTrigger, keys: Map<string, StoredState>, key: string, input: Input, now: number) {
		const { id, version } = t.compiled;
		let entry = keys.get(key);
		if (!entry) {
			entry = { triggerId: id, key, version, state: undefined as unknown as KeyState };
			keys.set(key, entry);
		}
		let slot = this.slots.get(entry);
		if (!slot) {
			// A state of an older version is discarded: the trigger's decisions changed.
			const state = entry.version === version ? (entry.state as KeyState | undefined) : undefined;
			entry.version = version;
			slot = { trigger: t, entry, state };
			this.slots.set(entry, slot);
			this.changed.push(slot);
		}
		const step = reduce(t.compiled, key, slot.state, input, now, this.deadlineMs, this.options);
		if (step.state) {
			slot.state = step.state;
			entry.state = step.state;
		}
		this.record(t, key, step.decisions);
	}

	private record(t: LiveTrigger, key: string, decisions: Decision[]) {
		const { id, version } = t.compiled;
		for (const decision of decisions) {
			this.decisions.push({ triggerId: id, version, key, decision });
			if (decision.kind === "fire")
				this.fires.push({ triggerId: id, ownerId: t.ownerId, version, key, decision });
		}
	}

	/** Folds a batch of events (in seq order), trigger by trigger. */
	events(list: readonly OwnedEvent[]): void {
		eachTrigger(this.set, this.routesOf(list), (t, events) => {
			let states: Map<string, StoredState> | undefined;
			const quiet = falseLeavesState(t.compiled) ? this.verdicts.of(t, events) : undefined;
			let group: QuietFalse | undefined;
			const keyAt = this.keys.of(t, events);
			for (let i = 0; i < events.length; i++) {
				const event = events[i]!;
				if (!hears(t, event)) continue;
				const key = keyAt ? keyAt(i) : NO_KEY;
				if (!key.ok) {
					this.record(t, "", [key.decision]);
					continue;
				}
				if (quiet) {
					// A false condition that leaves the state as it is: decided without touching it.
					const verdict = quiet(i);
					if (verdict !== undefined) {
						if (!group) {
							group = { triggerId: t.compiled.id, version: t.compiled.version, events: [] };
							this.quiet.push(group);
						}
						group.events.push(
							verdict === true
								? [event.seq, key.key, event.receivedAt]
								: [event.seq, key.key, event.receivedAt, verdict],
						);
						continue;
					}
				}
				states ??= this.statesOf(t);
				this.step(t, states, key.key, { kind: "event", event }, event.receivedAt);
			}
		});
	}

	/** Fires every timer due by `now` of the given states (and of those folded so far). */
	tick(now: number, due: readonly StoredState[]): void {
		const candidates: { t: LiveTrigger; key: string }[] = [];
		for (const s of due) {
			const t = this.set.byId.get(s.triggerId);
			if (!t) continue;
			const keys = this.statesOf(t);
			if (!keys.has(s.key)) keys.set(s.key, s);
			candidates.push({ t, key: s.key });
		}
		for (const slot of this.changed) candidates.push({ t: slot.trigger, key: slot.entry.key });
		const seen = new Set<StoredState>();
		for (const { t, key } of candidates) {
			const keys = this.statesOf(t);
			const entry = keys.get(key)!;
			if (seen.has(entry)) continue;
			seen.add(entry);
			if (entry.version !== t.compiled.version || !entry.state) continue;
			const at = dueAt(t.compiled, entry.state);
			if (at === undefined || at > now) continue;
			this.step(t, keys, key, { kind: "tick" }, now);
		}
	}
}
