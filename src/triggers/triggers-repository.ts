/** SQL for triggers and their decisions: one statement per function. */
import type { Queryable as Sql } from "../infra/db/sql.ts";
import type { Action, Clauses, TriggerDefinition } from "./definition.ts";
import type { TriggerView } from "./model.ts";

/** Processor partitions (fixed: a trigger's partition is set at creation). */
export const PARTITIONS = 16;

export interface TriggerRow {
	id: string;
	owner_id: string;
	name: string;
	event_types: string[];
	source_ids: string[];
	condition: string;
	key_expr: string | null;
	clauses: Clauses;
	action: Action;
	enabled: boolean;
	version: number;
	partition: number;
	created_at: Date;
	updated_at: Date;
}

export const definitionOf = (r: TriggerRow): TriggerDefinition => ({
	name: r.name,
	eventTypes: r.event_types,
	sourceIds: r.source_ids,
	condition: r.condition,
	key: r.key_expr,
	clauses: r.clauses,
	action: r.action,
});

export function toTriggerView(r: TriggerRow): TriggerView {
	const { token, secret, ...action } = r.action as Action & { token?: string; secret?: string };
	return {
		id: r.id,
		name: r.name,
		eventTypes: r.event_types,
		sourceIds: r.source_ids,
		condition: r.condition,
		key: r.key_expr,
		clauses: r.clauses as Record<string, unknown>,
		action:
			r.action.kind === "mcp"
				? { ...action, hasToken: token !== undefined }
				: r.action.kind === "webhook"
					? { ...action, hasSecret: secret !== undefined }
					: action,
		enabled: r.enabled,
		version: r.version,
		createdAt: r.created_at.toISOString(),
		updatedAt: r.updated_at.toISOString(),
	};
}

const columns = (sql: Sql) => sql`
	id, owner_id, name, event_types, source_ids::text[] as source_ids, condition, key_expr, clauses,
	action, enabled, version, partition, created_at, updated_at`;

export async function insertTrigger(
	sql: Sql,
	owner: string,
	d: TriggerDefinition,
	enabled: boolean,
): Promise<TriggerRow> {
	const id = crypto.randomUUID();
	const [row] = await sql<TriggerRow[]>`
		insert into triggers (id, owner_id, name, event_types, source_ids, condition, key_expr, clauses, action,
		                      enabled, partition)
		values (${id}, ${owner}, ${d.name}, ${d.eventTypes}, ${d.sourceIds ?? []}::uuid[], ${d.condition},
		        ${d.key ?? null}, ${sql.json((d.clauses ?? {}) as never)}, ${sql.json(d.action as never)}, ${enabled},
		        mod(abs(hashtextextended(${id}, 0)), ${PARTITIONS}))
		returning ${columns(sql)}`;
	return row!;
}

export async function countTriggers(sql: Sql, owner: string): Promise<number> {
	const [row] = await sql<{ n: number }[]>`select count(*)::int as n from triggers where owner_id = ${owner}`;
	return row!.n;
}

export async function findTrigger(
	sql: Sql,
	owner: string,
	id: string,
	forUpdate = false,
): Promise<TriggerRow | undefined> {
	const [row] = await sql<TriggerRow[]>`
		select ${columns(sql)} from triggers where id = ${id} and owner_id = ${owner}
		${forUpdate ? sql`for update` : sql``}`;
	return row;
}

export async function listTriggers(sql: Sql, owner: string, limit: number, offset: number) {
	const rows = await sql<(TriggerRow & { total: number })[]>`
		select ${columns(sql)}, count(*) over ()::int as total from triggers where owner_id = ${owner}
		order by created_at, id limit ${limit} offset ${offset}`;
	return { rows, total: rows[0]?.total ?? 0 };
}

export async function updateTrigger(
	sql: Sql,
	id: string,
	d: TriggerDefinition,
	enabled: boolean,
	bump: boolean,
): Promise<TriggerRow> {
	const [row] = await sql<TriggerRow[]>`
		update triggers set name = ${d.name}, event_types = ${d.eventTypes}, source_ids = ${d.sourceIds ?? []}::uuid[],
		  condition = ${d.condition}, key_expr = ${d.key ?? null}, clauses = ${sql.json((d.clauses ?? {}) as never)},
		  action = ${sql.json(d.action as never)}, enabled = ${enabled}, version = version + ${bump ? 1 : 0}
		where id = ${id}
		returning ${columns(sql)}`;
	if (bump) await sql`delete from trigger_state where trigger_id = ${id}`;
	return row!;
}

export async function deleteTrigger(sql: Sql, owner: string, id: string): Promise<boolean> {
	const rows = await sql`delete from triggers where id = ${id} and owner_id = ${owner}`;
	return rows.count > 0;
}

/** How many of `ids` are sources of `owner`. */
export async function ownedSources(sql: Sql, owner: string, ids: readonly string[]): Promise<number> {
	if (ids.length === 0) return 0;
	const [row] = await sql<{ n: number }[]>`
		select count(*)::int as n from event_sources where owner_id = ${owner} and id = any(${ids as string[]}::uuid[])`;
	return row!.n;
}

/** The enabled triggers of some partitions (the processor's claim). */
export async function triggersOfPartitions(sql: Sql, partitions: readonly number[]): Promise<TriggerRow[]> {
	return sql<TriggerRow[]>`
		select ${columns(sql)} from triggers
		where enabled and partition = any(${partitions as number[]}::int[]) order by id`;
}
