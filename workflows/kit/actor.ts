/**
 * The actor kit: what every long-lived per-entity workflow needs, so an
 * actor's own file holds only its domain logic.
 *
 * - `defineActor`: the actor's workflow type, workflow id prefix and change
 *   signal in one value, used by the workflow, the bridge's routes, the
 *   reconciler and API clients alike (ids come from here and nowhere else).
 * - `receiveChanges`: applies each change at most once by outbox id; a change
 *   it has seen (a redelivery, or an ordering mistake) is still handed over
 *   as stale, so the actor re-reads its row: a mistake costs a reload, never
 *   a missed change.
 * - `continueAsNewIfDue`: carries state across continue-as-new before the
 *   history grows large, after the signal handlers have finished.
 * - `statsQuery`: the counters, for operators and tests.
 */
import {
	allHandlersFinished,
	condition,
	continueAsNew,
	defineQuery,
	defineSignal,
	patched,
	type SignalDefinition,
	setHandler,
	type Workflow,
	workflowInfo,
} from "@temporalio/workflow";
import type { Change } from "./change.ts";

export interface ActorDefinition {
	/** The exported workflow function's name. */
	readonly workflowType: string;
	/** Workflow id = prefix + entity key, e.g. `event:<uuid>`. */
	readonly idPrefix: string;
	readonly signal: SignalDefinition<[Change[]]>;
	workflowId(entityKey: string): string;
}

export function defineActor(spec: {
	workflowType: string;
	idPrefix: string;
	signalName: string;
}): ActorDefinition {
	return {
		workflowType: spec.workflowType,
		idPrefix: spec.idPrefix,
		signal: defineSignal<[Change[]]>(spec.signalName),
		workflowId: (entityKey) => `${spec.idPrefix}${entityKey}`,
	};
}

/** What every actor counts: carried across continue-as-new. */
export interface ActorCounters {
	lastOutboxId: number;
	applied: number;
	/** Changes already applied or older than the last one (redeliveries); each still caused a reload. */
	ignored: number;
}

/** The input every actor is started with by the bridge and the reconciler. */
export interface ActorInput<S> {
	entityKey: string;
	state?: S;
	/** Continue-as-new past this many history events (default 4000). */
	historyLimit?: number;
}

export const newCounters = (): ActorCounters => ({ lastOutboxId: 0, applied: 0, ignored: 0 });

export const statsQuery = defineQuery<ActorCounters>("stats");

/**
 * Registers the actor's change signal. `onChange(change, fresh)` runs for each
 * change in order: `fresh` is false for one already applied.
 */
export function receiveChanges(
	actor: ActorDefinition,
	counters: ActorCounters,
	onChange: (change: Change, fresh: boolean) => void,
): void {
	setHandler(actor.signal, (changes) => {
		for (const change of changes) {
			if (change.outboxId <= counters.lastOutboxId) {
				counters.ignored++;
				// Histories recorded before stale changes caused a reload replay without it.
				if (patched("stale-change-reload")) onChange(change, false);
				continue;
			}
			counters.lastOutboxId = change.outboxId;
			counters.applied++;
			onChange(change, true);
		}
	});
}

/** Continues as new (after every handler finished) when Temporal suggests it or the history passes `limit`. */
export async function continueAsNewIfDue<F extends Workflow>(
	limit: number | undefined,
	...args: Parameters<F>
): Promise<void> {
	const info = workflowInfo();
	if (!info.continueAsNewSuggested && info.historyLength <= (limit ?? 4000)) return;
	await condition(allHandlersFinished);
	await continueAsNew<F>(...args);
}
