/**
 * The processor's SQL: the ingest horizon, a partition's checkpoint, its
 * events, the states it folds, and the one write of a batch (states,
 * decisions, fires and the checkpoint in the caller's transaction).
 */
import type { Queryable as Sql } from "../infra/db/sql.ts";
import type { QuietFalse } from "./fold.ts";
import type { Decision, EventSnapshot, KeyState } from "./reducer.ts";

export interface Horizon {
	/** Every event with seq ≤ this is visible; later ones get receivedAt ≥ `now`. */
	maxSeq: number;
	now: number;
}

/**
 * Waits out ingesting transactions (they hold the ingest order lock
 * exclusively), then reads the highest seq and the clock: nothing can commit
 * below that seq afterwards, nor with an earlier receivedAt.
 */
export async function readHorizon(sql: import("../infra/db/sql.ts").Sql): Promise<Horizon> {
	return sql.begin(async (tx) => {
		await tx`select pg_advisory_xact_lock_shared(hashtextextended('herald-order:ingest', 0))`;
		const [row] = await tx<{ max_seq: string | null; now: Date }[]>`
			select (select max(seq) from ingested_events) as max_seq, clock_timestamp() as now`;
		return { maxSeq: Number(row!.max_seq ?? 0), now: row!.now.getTime() };
	});
}

export async function ensurePartitions(sql: Sql, count: number): Promise<void> {
	await sql`
		insert into processor_partitions (partition)
		select p from generate_series(0, ${count - 1}) p on conflict do nothing`;
}

/** The checkpoint, row-locked for the batch (a second processor on it waits, then sees the new one). */
export async function lockCheckpoint(
	sql: Sql,
	partition: number,
): Promise<{ lastSeq: number; clock: number | null }> {
	const [row] = await sql<{ last_seq: string; clock: Date | null }[]>`
		select last_seq, clock from processor_partitions where partition = ${partition} for update`;
	return { lastSeq: Number(row!.last_seq), clock: row!.clock?.getTime() ?? null };
}

interface EventRow {
	seq: string;
	id: string;
	type: string;
	source_id: string;
	owner_id: string;
	external_id: string;
	occurred_at: Date;
	received_at: Date;
	data: Record<string, unknown>;
}

export type OwnedEvent = EventSnapshot & { ownerId: string };

const toSnapshot = (r: EventRow): OwnedEvent => ({
	id: r.id,
	seq: Number(r.seq),
	type: r.type,
	source: r.source_id,
	ownerId: r.owner_id,
	externalId: r.external_id,
	occurredAt: r.occurred_at.getTime(),
	receivedAt: r.received_at.getTime(),
	data: r.data,
});

/** Events after `afterSeq` up to `maxSeq` of the given owners and types, in seq order. */
export async function eventsAfter(
	sql: Sql,
	q: { afterSeq: number; maxSeq: number; owners: string[]; types: string[]; limit: number },
): Promise<OwnedEvent[]> {
	const rows = await sql<EventRow[]>`
		select seq, id, type, source_id, owner_id, external_id, occurred_at, received_at, data
		from ingested_events
		where seq > ${q.afterSeq} and seq <= ${q.maxSeq}
		  and owner_id = any(${q.owners}::uuid[]) and type = any(${q.types}::text[])
		order by seq limit ${q.limit}`;
	return rows.map(toSnapshot);
}

/** Events of one owner by seq (explain). */
export async function eventsBySeq(sql: Sql, owner: string, seqs: number[]): Promise<OwnedEvent[]> {
	if (seqs.length === 0) return [];
	const rows = await sql<EventRow[]>`
		select seq, id, type, source_id, owner_id, external_id, occurred_at, received_at, data
		from ingested_events where seq = any(${seqs.map(String)}::bigint[]) and owner_id = ${owner}`;
	return rows.map(toSnapshot);
}

/** Events of one owner in [from, to) by receivedAt, for a backtest, in seq order. */
export async function eventsBetween(
	sql: Sql,
	q: { owner: string; types: string[]; from: Date; to: Date; limit: number },
): Promise<OwnedEvent[]> {
	const rows = await sql<EventRow[]>`
		select seq, id, type, source_id, owner_id, external_id, occurred_at, received_at, data
		from ingested_events
		where owner_id = ${q.owner} and type = any(${q.types}::text[])
		  and received_at >= ${q.from} and received_at < ${q.to}
		order by seq limit ${q.limit}`;
	return rows.map(toSnapshot);
}

export interface StoredState {
	triggerId: string;
	key: string;
	version: number;
	state: KeyState;
}

export async function loadStates(
	sql: Sql,
	pairs: { triggerId: string; key: string }[],
): Promise<StoredState[]> {
	if (pairs.length === 0) return [];
	const rows = await sql<{ trigger_id: string; key: string; version: number; state: KeyState }[]>`
		select s.trigger_id, s.key, s.version, s.state from trigger_state s
		join unnest(${pairs.map((p) => p.triggerId)}::uuid[], ${pairs.map((p) => p.key)}::text[]) as w(t, k)
		  on s.trigger_id = w.t and s.key = w.k`;
	return rows.map((r) => ({ triggerId: r.trigger_id, key: r.key, version: r.version, state: r.state }));
}

/** States of the given triggers with a timer due by `now`. */
export async function dueStates(sql: Sql, triggerIds: string[], now: number): Promise<StoredState[]> {
	if (triggerIds.length === 0) return [];
	const rows = await sql<{ trigger_id: string; key: string; version: number; state: KeyState }[]>`
		select trigger_id, key, version, state from trigger_state
		where trigger_id = any(${triggerIds}::uuid[]) and due_at <= ${new Date(now)}`;
	return rows.map((r) => ({ triggerId: r.trigger_id, key: r.key, version: r.version, state: r.state }));
}

export interface BatchWrite {
	states: (StoredState & { dueAt: number | undefined })[];
	decisions: { triggerId: string; version: number; key: string; decision: Decision }[];
	/** Quiet false conditions: one row per trigger (first and last seq, the events in `reason`). */
	quiet?: QuietFalse[];
	fires: { triggerId: string; ownerId: string; version: number; key: string; decision: Decision }[];
	checkpoint: { partition: number; lastSeq: number; clock: number };
}

export async function writeBatch(sql: Sql, w: BatchWrite): Promise<void> {
	if (w.states.length > 0)
		await sql`
			insert into trigger_state (trigger_id, key, version, state, due_at)
			select t, k, v, st::jsonb, d from unnest(${w.states.map((s) => s.triggerId)}::uuid[], ${w.states.map((s) => s.key)}::text[],
			  ${w.states.map((s) => s.version)}::int[], ${w.states.map((s) => JSON.stringify(s.state))}::text[],
			  ${w.states.map((s) => (s.dueAt === undefined ? null : new Date(s.dueAt).toISOString())) as string[]}::timestamptz[])
			  as u(t, k, v, st, d)
			on conflict (trigger_id, key) do update
			set version = excluded.version, state = excluded.state, due_at = excluded.due_at`;
	if (w.decisions.length > 0) {
		const d = w.decisions;
		await sql`
			insert into trigger_decisions (trigger_id, trigger_version, event_seq, key, decision, reason, at)
			select t, v, e, k, d, r::jsonb, a from unnest(${d.map((x) => x.triggerId)}::uuid[], ${d.map((x) => x.version)}::int[],
			  ${d.map((x) => (x.decision.eventSeq === null ? null : String(x.decision.eventSeq))) as string[]}::bigint[],
			  ${d.map((x) => x.key)}::text[], ${d.map((x) => x.decision.kind)}::text[],
			  ${d.map((x) => JSON.stringify(x.decision.fire ? { ...x.decision.reason, fireKey: x.decision.fire.fireKey } : x.decision.reason))}::text[],
			  ${d.map((x) => new Date(x.decision.at).toISOString())}::timestamptz[]) as u(t, v, e, k, d, r, a)`;
	}
	if (w.quiet && w.quiet.length > 0) {
		const q = w.quiet;
		await sql`
			insert into trigger_decisions (trigger_id, trigger_version, event_seq, last_seq, key, decision, reason, at)
			select t, v, e, l, '', 'condition_false', r::jsonb, a from unnest(${q.map((x) => x.triggerId)}::uuid[],
			  ${q.map((x) => x.version)}::int[], ${q.map((x) => String(x.events[0]![0]))}::bigint[],
			  ${q.map((x) => String(x.events.at(-1)![0]))}::bigint[],
			  ${q.map((x) => JSON.stringify({ events: x.events }))}::text[],
			  ${q.map((x) => new Date(Math.max(...x.events.map((e) => e[2]))).toISOString())}::timestamptz[])
			  as u(t, v, e, l, r, a)`;
	}
	if (w.fires.length > 0) {
		const f = w.fires;
		await sql`
			insert into trigger_fires (fire_key, trigger_id, owner_id, trigger_version, key, event_seq, fired_at, suppressed, payload)
			select f, t, o, v, k, e, a, n, p::jsonb from unnest(${f.map((x) => x.decision.fire!.fireKey)}::text[], ${f.map((x) => x.triggerId)}::uuid[],
			  ${f.map((x) => x.ownerId)}::uuid[], ${f.map((x) => x.version)}::int[], ${f.map((x) => x.key)}::text[],
			  ${f.map((x) => (x.decision.eventSeq === null ? null : String(x.decision.eventSeq))) as string[]}::bigint[],
			  ${f.map((x) => new Date(x.decision.at).toISOString())}::timestamptz[],
			  ${f.map((x) => x.decision.fire!.suppressed)}::int[],
			  ${f.map((x) => JSON.stringify(x.decision.fire!.payload ?? null))}::text[]) as u(f, t, o, v, k, e, a, n, p)
			on conflict (fire_key) do nothing`;
	}
	await sql`
		update processor_partitions set last_seq = ${w.checkpoint.lastSeq}, clock = ${new Date(w.checkpoint.clock)}
		where partition = ${w.checkpoint.partition}`;
}
