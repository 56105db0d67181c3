/**
 * Trigger metrics: what the processor folds and decides (counted after its
 * batch committed, so a rolled-back batch counts nothing), how far it lags
 * behind ingestion (read on each scrape of a processor), and the action runs'
 * attempts by action kind and outcome.
 */
import type { Sql } from "../infra/db/sql.ts";
import { counter, histogram, sampled } from "../infra/metrics.ts";
import type { DecisionKind } from "./key-state.ts";

export const triggerFires = counter("herald_trigger_fires_total", "Trigger fires the processor recorded");
export const triggerConditionErrors = counter(
	"herald_trigger_condition_errors_total",
	"Trigger conditions (or clause expressions) that failed to evaluate on an event",
);
export const triggerDecisions = counter(
	"herald_trigger_decisions_total",
	"Trigger decisions recorded, by decision (fire | condition_false | condition_error | state_unsatisfied | late | pending | cooldown | debounced | resolved | action_failed)",
	["decision"],
);
export const processorBatchSeconds = histogram(
	"herald_trigger_processor_batch_duration_seconds",
	"Duration of one committed processor batch (one partition: fold, write states, decisions, fires, checkpoint)",
);
export const processorEventsFolded = counter(
	"herald_trigger_processor_events_folded_total",
	"Ingested events folded by the processor's committed batches",
);
export const actionRuns = counter(
	"herald_trigger_action_runs_total",
	"Trigger action attempts by action kind (webhook | email | telegram | mcp) and outcome (success | terminal | retry)",
	["kind", "outcome"],
);

export type ActionOutcome = "success" | "terminal" | "retry";

/** Counts one committed batch's decisions and fires. */
export function countBatch(
	byKind: ReadonlyMap<DecisionKind, number>,
	fires: number,
	events: number,
	seconds: number,
): void {
	for (const [decision, n] of byKind) triggerDecisions.inc({ decision }, n);
	const errors = byKind.get("condition_error") ?? 0;
	if (errors > 0) triggerConditionErrors.inc(errors);
	if (fires > 0) triggerFires.inc(fires);
	if (events > 0) processorEventsFolded.inc(events);
	processorBatchSeconds.observe(seconds);
}

/**
 * The processor's lag behind ingestion, read at scrape time from the newest
 * ingested event and the slowest partition's checkpoint: the events not yet
 * past every checkpoint, and the age of the oldest of them (0 when none) —
 * it grows while the processor is stuck, even when no new events arrive.
 */
export async function readProcessorLag(sql: Sql): Promise<{ events: number; seconds: number }> {
	const [row] = await sql<{ newest: string | null; checkpoint: string | null; age: number | null }[]>`
		with c as (select min(last_seq) as seq from processor_partitions)
		select (select max(seq) from ingested_events) as newest, c.seq as checkpoint,
		  (select extract(epoch from clock_timestamp() - e.received_at)::float8
		     from ingested_events e where e.seq > c.seq order by e.seq limit 1) as age
		from c`;
	const newest = Number(row?.newest ?? 0);
	const checkpoint = Number(row?.checkpoint ?? newest);
	return { events: Math.max(0, newest - checkpoint), seconds: Math.max(0, row?.age ?? 0) };
}

/** Registers the lag gauges (a processor does, while it runs); returns the unregister. */
export function sampleProcessorLag(sql: Sql): () => void {
	const lag = () => readProcessorLag(sql);
	const stopSeconds = sampled(
		"herald_trigger_processor_lag_seconds",
		"Age of the oldest ingested event the slowest processor partition has not yet folded (0 when caught up)",
		[],
		async () => [{ value: (await lag()).seconds }],
	);
	const stopEvents = sampled(
		"herald_trigger_processor_lag_events",
		"Ingested events after the slowest processor partition's checkpoint (newest seq minus checkpoint)",
		[],
		async () => [{ value: (await lag()).events }],
	);
	return () => {
		stopSeconds();
		stopEvents();
	};
}
