/** Sessions (refresh-token families) and single-use refresh tokens, stored hashed. */
import type { Queryable as Sql } from "../infra/db/sql.ts";

export function newRefreshToken(): { token: string; hash: Uint8Array } {
	const bytes = crypto.getRandomValues(new Uint8Array(32));
	const token = Buffer.from(bytes).toString("base64url");
	return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): Uint8Array {
	return new Bun.CryptoHasher("sha256").update(token).digest() as Uint8Array;
}

export async function createSession(sql: Sql, userId: string): Promise<string> {
	const [row] = await sql<
		{ id: string }[]
	>`insert into auth_sessions (user_id) values (${userId}) returning id`;
	return row!.id;
}

export async function storeRefreshToken(
	sql: Sql,
	sessionId: string,
	hash: Uint8Array,
	expiresAt: Date,
): Promise<void> {
	await sql`insert into refresh_tokens (token_hash, session_id, expires_at)
		values (${Buffer.from(hash)}, ${sessionId}, ${expiresAt})`;
}

export async function revokeSession(sql: Sql, sessionId: string, reason: string): Promise<void> {
	await sql`update auth_sessions set revoked_at = now(), revoked_reason = ${reason}
		where id = ${sessionId} and revoked_at is null`;
}

export interface RefreshTokenRow {
	session_id: string;
	user_id: string;
	expires_at: Date;
	used_at: Date | null;
	revoked_at: Date | null;
}

/** Locks the token row for the rotation transaction. */
export async function lockRefreshToken(sql: Sql, hash: Uint8Array): Promise<RefreshTokenRow | undefined> {
	const [row] = await sql<RefreshTokenRow[]>`
		select t.session_id, s.user_id, t.expires_at, t.used_at, s.revoked_at
		from refresh_tokens t join auth_sessions s on s.id = t.session_id
		where t.token_hash = ${Buffer.from(hash)}
		for update of t`;
	return row;
}

export async function markRefreshTokenUsed(sql: Sql, hash: Uint8Array): Promise<void> {
	await sql`update refresh_tokens set used_at = now() where token_hash = ${Buffer.from(hash)}`;
}
