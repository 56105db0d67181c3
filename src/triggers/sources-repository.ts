/** SQL for sources and their keys: one statement per function. */
import type { Queryable as Sql } from "../infra/db/sql.ts";
import type { SourceView } from "./sources-model.ts";

export interface SourceRow {
	id: string;
	owner_id: string;
	name: string;
	key_prefix: string;
	revoked_at: Date | null;
	last_used_at: Date | null;
	created_at: Date;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const toSourceView = (r: SourceRow): SourceView => ({
	id: r.id,
	name: r.name,
	keyPrefix: r.key_prefix,
	revokedAt: iso(r.revoked_at),
	lastUsedAt: iso(r.last_used_at),
	createdAt: r.created_at.toISOString(),
});

export async function insertSource(
	sql: Sql,
	owner: string,
	name: string,
	keyHash: Uint8Array,
	prefix: string,
): Promise<SourceRow> {
	const [row] = await sql<SourceRow[]>`
		insert into event_sources (owner_id, name, key_hash, key_prefix)
		values (${owner}, ${name}, ${Buffer.from(keyHash)}, ${prefix})
		returning id, owner_id, name, key_prefix, revoked_at, last_used_at, created_at`;
	return row!;
}

export async function listSources(sql: Sql, owner: string, limit: number, offset: number) {
	const rows = await sql<(SourceRow & { total: number })[]>`
		select id, owner_id, name, key_prefix, revoked_at, last_used_at, created_at, count(*) over ()::int as total
		from event_sources where owner_id = ${owner}
		order by created_at, id limit ${limit} offset ${offset}`;
	return { rows, total: rows[0]?.total ?? 0 };
}

export async function findSource(sql: Sql, owner: string, id: string): Promise<SourceRow | undefined> {
	const [row] = await sql<SourceRow[]>`
		select id, owner_id, name, key_prefix, revoked_at, last_used_at, created_at
		from event_sources where id = ${id} and owner_id = ${owner}`;
	return row;
}

export async function revokeSource(sql: Sql, owner: string, id: string): Promise<SourceRow | undefined> {
	const [row] = await sql<SourceRow[]>`
		update event_sources set revoked_at = coalesce(revoked_at, now())
		where id = ${id} and owner_id = ${owner}
		returning id, owner_id, name, key_prefix, revoked_at, last_used_at, created_at`;
	return row;
}

export async function deleteSource(sql: Sql, owner: string, id: string): Promise<boolean> {
	const rows = await sql`delete from event_sources where id = ${id} and owner_id = ${owner}`;
	return rows.count > 0;
}

/** The live source a key hash belongs to (a revoked key finds nothing). */
export async function sourceByKeyHash(
	sql: Sql,
	keyHash: Uint8Array,
): Promise<{ id: string; owner_id: string } | undefined> {
	// One round trip: the source, and its last use written at most once a minute (the update's
	// rows are not read back: the select sees the row as it was before the statement).
	const [row] = await sql<{ id: string; owner_id: string }[]>`
		with s as (
			select id, owner_id, last_used_at from event_sources
			where key_hash = ${Buffer.from(keyHash)} and revoked_at is null),
		touched as (
			update event_sources e set last_used_at = now() from s
			where e.id = s.id and (s.last_used_at is null or s.last_used_at < now() - interval '1 minute'))
		select id, owner_id from s`;
	return row;
}
