/** SQL for action runs and their attempts: one statement per function. */
import type { Queryable as Sql } from "../infra/db/sql.ts";
import type { Action, Clauses } from "./definition.ts";

export interface FireContext {
	fire_id: string;
	fire_key: string;
	trigger_id: string;
	owner_id: string;
	trigger_name: string;
	fired_at: Date;
	payload: unknown;
	action: Action;
	clauses: Clauses;
	status: "running" | "succeeded" | "failed" | null;
}

export async function loadFire(sql: Sql, fireKey: string): Promise<FireContext | undefined> {
	const [row] = await sql<FireContext[]>`
		select f.id as fire_id, f.fire_key, f.trigger_id, f.owner_id, t.name as trigger_name, f.fired_at, f.payload,
		       t.action, t.clauses, r.status
		from trigger_fires f join triggers t on t.id = f.trigger_id
		left join action_runs r on r.fire_id = f.id
		where f.fire_key = ${fireKey}`;
	return row;
}

/** The run's row (idempotent: a restarted workflow finds it). */
export async function beginRun(sql: Sql, fireId: string, triggerId: string): Promise<void> {
	await sql`insert into action_runs (fire_id, trigger_id) values (${fireId}, ${triggerId}) on conflict do nothing`;
}

export async function finishRun(
	sql: Sql,
	fireId: string,
	status: "succeeded" | "failed",
	error: string | null,
) {
	await sql`
		update action_runs set status = ${status}, error = ${error}, finished_at = now()
		where fire_id = ${fireId} and status = 'running'`;
}

export async function beginActionAttempt(sql: Sql, fireId: string, attempt: number, destination: string) {
	const [row] = await sql<{ id: string }[]>`
		insert into action_attempts (fire_id, attempt, destination) values (${fireId}, ${attempt}, ${destination})
		returning id`;
	return row!.id;
}

export async function finishActionAttempt(
	sql: Sql,
	id: string,
	o: { outcome: string; statusCode?: number; latencyMs: number; error?: string },
) {
	await sql`
		update action_attempts set outcome = ${o.outcome}, status_code = ${o.statusCode ?? null},
		  latency_ms = ${o.latencyMs}, error = ${o.error ?? null}, finished_at = now()
		where id = ${id}`;
}

/** Fires whose run has not finished (the reconciler keeps their workflows alive), in key order. */
export async function unfinishedFires(sql: Sql, after: string, limit: number): Promise<string[]> {
	const rows = await sql<{ fire_key: string }[]>`
		select f.fire_key from trigger_fires f left join action_runs r on r.fire_id = f.id
		where (r.status is null or r.status = 'running') and f.fire_key > ${after}
		order by f.fire_key limit ${limit}`;
	return rows.map((r) => r.fire_key);
}

export interface RunRow {
	fire_id: string;
	fire_key: string;
	fired_at: Date;
	key: string;
	suppressed: number;
	payload: unknown;
	status: string | null;
	error: string | null;
	started_at: Date | null;
	finished_at: Date | null;
	attempts: {
		attempt: number;
		destination: string;
		outcome: string | null;
		statusCode: number | null;
		latencyMs: number | null;
		error: string | null;
		startedAt: string;
	}[];
}

export async function listRuns(
	sql: Sql,
	triggerId: string,
	limit: number,
	offset: number,
): Promise<RunRow[]> {
	return sql<RunRow[]>`
		select f.id as fire_id, f.fire_key, f.fired_at, f.key, f.suppressed, f.payload, r.status, r.error,
		       r.started_at, r.finished_at,
		       coalesce((select json_agg(json_build_object('attempt', a.attempt, 'destination', a.destination,
		           'outcome', a.outcome, 'statusCode', a.status_code, 'latencyMs', a.latency_ms, 'error', a.error,
		           'startedAt', a.started_at) order by a.id)
		         from action_attempts a where a.fire_id = f.id), '[]'::json) as attempts
		from trigger_fires f left join action_runs r on r.fire_id = f.id
		where f.trigger_id = ${triggerId}
		order by f.fired_at desc, f.fire_key desc limit ${limit} offset ${offset}`;
}
