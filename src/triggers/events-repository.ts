/** SQL for ingested events: the batch insert (in commit order, deduplicated) and reads. */
import type { Queryable as Sql } from "../infra/db/sql.ts";
import type { EventView } from "./sources-model.ts";

export interface EventRow {
	seq: string;
	id: string;
	source_id: string;
	owner_id: string;
	type: string;
	external_id: string;
	occurred_at: Date;
	received_at: Date;
	data: Record<string, unknown>;
}

export const toEventView = (r: EventRow): EventView => ({
	id: r.id,
	seq: Number(r.seq),
	sourceId: r.source_id,
	type: r.type,
	externalId: r.external_id,
	occurredAt: r.occurred_at.toISOString(),
	receivedAt: r.received_at.toISOString(),
	data: r.data,
});

export interface NewEvent {
	type: string;
	externalId: string;
	occurredAt: string | null;
	/** Serialized JSON object. */
	data: string;
}

/**
 * Inserts the events of one source in one statement, herald_ingest_events
 * (migration 00015): it takes the ingest order lock, so seq follows commit
 * order, and holds it only inside the database. Returns the id of every event,
 * new or already stored, by external id. With `sql` a pool the statement is its
 * own transaction (the lock is released at its commit); inside a caller's
 * transaction the lock is held until that commits.
 */
export async function insertEvents(
	sql: Sql,
	source: { id: string; owner_id: string },
	events: readonly NewEvent[],
): Promise<Map<string, { id: string; duplicate: boolean }>> {
	const out = new Map<string, { id: string; duplicate: boolean }>();
	if (events.length === 0) return out;
	const types: string[] = new Array(events.length);
	const ext: string[] = new Array(events.length);
	const occurred: (string | null)[] = new Array(events.length);
	const data: string[] = new Array(events.length);
	for (let i = 0; i < events.length; i++) {
		const e = events[i]!;
		types[i] = e.type;
		ext[i] = e.externalId;
		occurred[i] = e.occurredAt;
		data[i] = e.data;
	}
	// The data travels as one JSON array (each item is already serialized): no per-item array escaping.
	const [row] = await sql<{ r: string }[]>`
		select herald_ingest_events(${source.id}::uuid, ${source.owner_id}::uuid, ${types}::text[], ${ext}::text[],
		  ${occurred as string[]}::timestamptz[], ${`[${data.join(",")}]`}::text::jsonb) as r`;
	for (const [externalId, id, duplicate] of JSON.parse(row!.r) as [string, string, boolean][])
		out.set(externalId, { id, duplicate });
	return out;
}

export async function listEvents(
	sql: Sql,
	owner: string,
	q: { sourceId: string; type?: string; afterSeq?: number; limit: number },
): Promise<EventRow[]> {
	return sql<EventRow[]>`
		select seq, id, source_id, owner_id, type, external_id, occurred_at, received_at, data
		from ingested_events
		where owner_id = ${owner} and source_id = ${q.sourceId}
		  ${q.type ? sql`and type = ${q.type}` : sql``}
		  and seq > ${q.afterSeq ?? 0}
		order by seq limit ${q.limit}`;
}

/** Retention: events (and decisions) past INGEST_RETENTION_DAYS. */
export async function purgeEvents(sql: Sql, days: number): Promise<number> {
	const rows = await sql`
		delete from ingested_events where received_at < now() - make_interval(days => ${Math.max(1, days)})`;
	const decisions = await sql`
		delete from trigger_decisions where at < now() - make_interval(days => ${Math.max(1, days)})`;
	return rows.count + decisions.count;
}
