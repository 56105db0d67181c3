/** The `Idempotency-Key` store (table `idempotency_keys`): one statement per function. */
import type { Queryable as Sql } from "../infra/db/sql.ts";

/** Stored responses are kept this long. */
export const IDEMPOTENCY_TTL_HOURS = 24;
/** A claim still in flight after this long belongs to a request that died: the next one may take it. */
export const ABANDONED_AFTER_SECONDS = 300;

export interface StoredKey {
	fingerprint: string;
	status: number | null;
	body: unknown;
}

/** Claims the key for this request; false when another request holds it (or completed it) already. */
export async function claimKey(sql: Sql, userId: string, key: string, fingerprint: string): Promise<boolean> {
	const rows = await sql`
		insert into idempotency_keys (user_id, key, fingerprint, expires_at)
		values (${userId}, ${key}, ${fingerprint}, now() + make_interval(hours => ${IDEMPOTENCY_TTL_HOURS}))
		on conflict (user_id, key) do update
		set fingerprint = excluded.fingerprint, status = null, body = null, created_at = now(),
		    expires_at = excluded.expires_at
		where idempotency_keys.expires_at < now()
		   or (idempotency_keys.status is null
		       and idempotency_keys.created_at < now() - make_interval(secs => ${ABANDONED_AFTER_SECONDS}))
		returning 1`;
	return rows.length > 0;
}

export async function findKey(sql: Sql, userId: string, key: string): Promise<StoredKey | undefined> {
	const [row] = await sql<StoredKey[]>`
		select fingerprint, status, body from idempotency_keys where user_id = ${userId} and key = ${key}`;
	return row;
}

export async function completeKey(
	sql: Sql,
	userId: string,
	key: string,
	status: number,
	body: unknown,
): Promise<void> {
	await sql`
		update idempotency_keys set status = ${status}, body = ${body === undefined ? null : sql.json(body as never)}
		where user_id = ${userId} and key = ${key} and status is null`;
}

/** The request failed: nothing was written, so the key is free again. */
export async function releaseKey(sql: Sql, userId: string, key: string): Promise<void> {
	await sql`delete from idempotency_keys where user_id = ${userId} and key = ${key} and status is null`;
}

/** Daily cleanup: stored responses past their time. */
export async function purgeIdempotencyKeys(sql: Sql): Promise<number> {
	const rows = await sql`delete from idempotency_keys where expires_at < now()`;
	return rows.count;
}
