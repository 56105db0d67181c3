/** SQL for ingested events: the batch insert (in commit order, deduplicated) and reads. */
import type { Sql as Pool, Queryable as Sql } from "../infra/db/sql.ts";
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
 * Inserts the events of one source in one transaction under the ingest order
 * lock (seq follows commit order); returns the id of every event, new or
 * already stored, by external id.
 */
export async function insertEvents(
	sql: Pool,
	source: { id: string; owner_id: string },
	events: readonly NewEvent[],
): Promise<Map<string, { id: string; duplicate: boolean }>> {
	const out = new Map<string, { id: string; duplicate: boolean }>();
	if (events.length === 0) return out;
	const ext = events.map((e) => e.externalId);
	await sql.begin(async (tx) => {
		await tx`select herald_order_lock('ingest')`;
		const inserted = await tx<{ id: string; external_id: string }[]>`
			insert into ingested_events (source_id, owner_id, type, external_id, occurred_at, data)
			select ${source.id}, ${source.owner_id}, e.type, e.external_id, coalesce(e.occurred_at, clock_timestamp()),
			       e.data::jsonb
			from unnest(${events.map((e) => e.type)}::text[], ${ext}::text[],
			            ${events.map((e) => e.occurredAt) as string[]}::timestamptz[], ${events.map((e) => e.data)}::text[])
			     with ordinality as e(type, external_id, occurred_at, data, n)
			order by e.n
			on conflict (source_id, external_id) do nothing
			returning id, external_id`;
		for (const r of inserted) out.set(r.external_id, { id: r.id, duplicate: false });
		if (inserted.length < new Set(ext).size) {
			const missing = ext.filter((x) => !out.has(x));
			const existing = await tx<{ id: string; external_id: string }[]>`
				select id, external_id from ingested_events
				where source_id = ${source.id} and external_id = any(${missing}::text[])`;
			for (const r of existing) out.set(r.external_id, { id: r.id, duplicate: true });
		}
	});
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
