/** SQL of the outbox: one statement per function. */
import type { Queryable, Sql } from "../infra/db/sql.ts";

export interface OutboxRow {
	id: string; // bigint: postgres.js returns it as a string
	table_name: string;
	operation: "INSERT" | "UPDATE" | "DELETE";
	entity_key: string;
	row_id: string;
	created_at: Date;
	/** W3C traceparent of the request that made the change (tracing on), else null. */
	traceparent: string | null;
}

export interface Route {
	workflowType: string;
	workflowIdPrefix: string;
	signalName: string;
}

/** A (table, operation) key maps to every route that hears it (one change may reach several actors). */
export type Routes = Map<string, Route[]>;

export const routeKey = (table: string, operation: string) => `${table}:${operation}`;

export async function loadRoutes(sql: Queryable): Promise<Routes> {
	const rows = await sql<
		{
			table_name: string;
			operation: string;
			workflow_type: string;
			workflow_id_prefix: string;
			signal_name: string;
		}[]
	>`select * from outbox_routes order by table_name, operation, workflow_type`;
	const routes: Routes = new Map();
	for (const r of rows) {
		const key = routeKey(r.table_name, r.operation);
		routes.set(key, [
			...(routes.get(key) ?? []),
			{ workflowType: r.workflow_type, workflowIdPrefix: r.workflow_id_prefix, signalName: r.signal_name },
		]);
	}
	return routes;
}

/**
 * The routes that name no exported workflow, or a signal that workflow's
 * actor definition does not have: a bridge refuses to start with any.
 */
export function invalidRoutes(
	routes: Routes,
	actors: ReadonlyMap<string, { idPrefix: string; signal: { name: string } }>,
	exportedWorkflows: ReadonlySet<string>,
): string[] {
	const problems: string[] = [];
	for (const [key, list] of routes)
		for (const r of list) {
			const actor = actors.get(r.workflowType);
			if (!exportedWorkflows.has(r.workflowType))
				problems.push(`${key} → ${r.workflowType}: no such workflow`);
			else if (!actor) problems.push(`${key} → ${r.workflowType}: not an actor of any feature`);
			else if (actor.signal.name !== r.signalName)
				problems.push(`${key} → ${r.workflowType}: no signal ${r.signalName}`);
			else if (actor.idPrefix !== r.workflowIdPrefix)
				problems.push(`${key} → ${r.workflowType}: id prefix ${r.workflowIdPrefix} is not ${actor.idPrefix}`);
		}
	return problems;
}

/**
 * Claims up to `entities` entities with pending changes, oldest first, each
 * with a session-level advisory lock of the connection it runs on (the
 * bridge's lock session: the lock outlives the statement and is released
 * with `releaseEntities` after the marks committed, or by Postgres when that
 * session ends). A bridge holding an entity is the only one delivering its
 * changes, so per-entity order holds with any number of bridges; entities
 * locked elsewhere are skipped, not waited for. Each call must leave out
 * (`except`) the entities this session already holds: session locks are
 * re-entrant.
 */
export async function claimEntities(
	conn: Queryable,
	entities: number,
	/** Entities resting after a failed delivery, or in flight in this bridge: not claimed now. */
	except: string[],
): Promise<string[]> {
	// herald_claim_entities (migration 00009) walks the pending entities oldest first and
	// stops once it holds `entities`: those locked elsewhere never crowd out the rest, and
	// exactly the entities returned are held.
	const rows = await conn<{ entity_key: string }[]>`
		select k as entity_key from herald_claim_entities(${entities}, ${except}::text[]) k`;
	return rows.map((r) => r.entity_key);
}

/** The claimed entities' pending changes in order (a new snapshot, taken after the locks). */
export async function pendingChanges(
	conn: Queryable,
	entityKeys: string[],
	limit: number,
): Promise<OutboxRow[]> {
	return conn<OutboxRow[]>`
		select id, table_name, operation, entity_key, row_id, created_at, traceparent from outbox
		where delivered_at is null and entity_key = any(${entityKeys}) order by id limit ${limit}`;
}

/**
 * Releases every outbox claim this session holds except `keep` (the entities
 * of its other batches in flight): after a claim or a release failed part-way,
 * whatever it left locked. Returns how many locks it released.
 */
export async function releaseStrayClaims(conn: Queryable, keep: string[]): Promise<number> {
	const [row] = await conn<{ n: number }[]>`select herald_release_stray_claims(${keep}::text[]) as n`;
	return row!.n;
}

/** Releases the claim of `entityKeys` (run on the connection that claimed them, after their marks committed). */
export async function releaseEntities(conn: Queryable, entityKeys: string[]): Promise<void> {
	if (entityKeys.length === 0) return;
	await conn`
		select pg_advisory_unlock(hashtextextended('herald-outbox:' || k, 0)) from unnest(${entityKeys}::text[]) k`;
}

export async function markDelivered(tx: Queryable, ids: string[]): Promise<void> {
	if (ids.length === 0) return;
	await tx`update outbox set delivered_at = now() where id = any(${ids}::bigint[])`;
}

/**
 * A stable identity of this database, the same for every bridge on it and across restarts and
 * failovers (a physical replica keeps both parts), different for any other database: the
 * cluster's system identifier and the database's oid. Where `pg_control_system()` is not
 * granted, the cluster part falls back to the database's name.
 */
export async function databaseIdentity(sql: Queryable): Promise<string> {
	const [db] = await sql<{ oid: string; name: string }[]>`
		select oid::text, datname as name from pg_database where datname = current_database()`;
	const system = await sql<{ id: string }[]>`select system_identifier::text as id from pg_control_system()`
		.then(([row]) => row!.id)
		.catch(() => db!.name);
	return `${system}.${db!.oid}`;
}

export interface OutboxStats {
	pending: number;
	lagSeconds: number;
	deliveredLastMinute: number;
}

/** For /api/v1/health: backlog, age of the oldest undelivered change, recent throughput. */
export async function outboxStats(sql: Sql): Promise<OutboxStats> {
	const [row] = await sql<{ pending: number; lag: number | null; delivered: number }[]>`
		select
			(select count(*)::int from outbox where delivered_at is null) as pending,
			(select extract(epoch from now() - min(created_at))::float8 from outbox where delivered_at is null) as lag,
			(select count(*)::int from outbox where delivered_at > now() - interval '1 minute') as delivered`;
	return { pending: row!.pending, lagSeconds: row!.lag ?? 0, deliveredLastMinute: row!.delivered };
}
