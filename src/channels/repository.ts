/** SQL for channels: one statement per function, rows mapped to the public view (never the secret). */
import type { Queryable as Sql } from "../infra/db/sql.ts";
import type { ChannelKind, ChannelView } from "./model.ts";

export interface ChannelRow {
	id: string;
	user_id: string;
	kind: ChannelKind;
	name: string;
	enabled: boolean;
	url: string | null;
	headers: Record<string, string>;
	secret: string | null;
	address: string | null;
	verified_at: Date | null;
	verification_code_hash: string | null;
	verification_expires_at: Date | null;
	verification_attempts: number;
	chat_id: string | null;
	created_at: Date;
	updated_at: Date;
}

export const toChannelView = (c: ChannelRow): ChannelView => ({
	id: c.id,
	kind: c.kind,
	name: c.name,
	enabled: c.enabled,
	verified: c.kind !== "email" || c.verified_at !== null,
	url: c.url,
	headerNames: Object.keys(c.headers ?? {}).sort(),
	address: c.address,
	verifiedAt: c.verified_at ? c.verified_at.toISOString() : null,
	chatId: c.chat_id,
	createdAt: c.created_at.toISOString(),
	updatedAt: c.updated_at.toISOString(),
});

export interface NewChannel {
	userId: string;
	kind: ChannelKind;
	name: string;
	url?: string;
	headers?: Record<string, string>;
	secret?: string;
	address?: string;
	chatId?: string;
}

export async function insertChannel(sql: Sql, c: NewChannel): Promise<ChannelRow> {
	const [row] = await sql<ChannelRow[]>`
		insert into channels (user_id, kind, name, url, headers, secret, address, chat_id)
		values (${c.userId}, ${c.kind}, ${c.name}, ${c.url ?? null}, ${sql.json(c.headers ?? {})},
		        ${c.secret ?? null}, ${c.address ?? null}, ${c.chatId ?? null})
		returning *`;
	return row!;
}

export async function countChannels(sql: Sql, userId: string): Promise<number> {
	const [row] = await sql<{ n: number }[]>`select count(*)::int as n from channels where user_id = ${userId}`;
	return row!.n;
}

export async function listChannels(sql: Sql, userId: string): Promise<ChannelRow[]> {
	const rows = await sql<ChannelRow[]>`
		select * from channels where user_id = ${userId} order by created_at, id`;
	return [...rows];
}

/** The user's channel; undefined when it is missing or someone else's. */
export async function findChannel(sql: Sql, userId: string, id: string): Promise<ChannelRow | undefined> {
	const [row] = await sql<ChannelRow[]>`select * from channels where id = ${id} and user_id = ${userId}`;
	return row;
}

/** Locks the user's channel row for the rest of the transaction. */
export async function lockChannel(sql: Sql, userId: string, id: string): Promise<ChannelRow | undefined> {
	const [row] = await sql<ChannelRow[]>`
		select * from channels where id = ${id} and user_id = ${userId} for update`;
	return row;
}

export interface ChannelChanges {
	name?: string;
	enabled?: boolean;
	url?: string;
	headers?: Record<string, string>;
}

export async function updateChannel(
	sql: Sql,
	userId: string,
	id: string,
	changes: ChannelChanges,
): Promise<ChannelRow | undefined> {
	const { headers, ...plain } = changes;
	const columns: Record<string, unknown> = Object.fromEntries(
		Object.entries(plain).filter(([, value]) => value !== undefined),
	);
	if (headers) columns.headers = sql.json(headers);
	if (Object.keys(columns).length === 0) return findChannel(sql, userId, id);
	const [row] = await sql<ChannelRow[]>`
		update channels set ${sql(columns)} where id = ${id} and user_id = ${userId} returning *`;
	return row;
}

export async function deleteChannel(sql: Sql, userId: string, id: string): Promise<boolean> {
	const rows = await sql`delete from channels where id = ${id} and user_id = ${userId} returning id`;
	return rows.length > 0;
}

/** A new code replaces the previous one and resets the attempt count. */
export async function setVerificationCode(
	sql: Sql,
	id: string,
	codeHash: string,
	expiresAt: Date,
): Promise<void> {
	await sql`
		update channels set verification_code_hash = ${codeHash}, verification_expires_at = ${expiresAt},
			verification_attempts = 0
		where id = ${id}`;
}

/** Past the limit the code is dropped (its issue time stays, for the resend cooldown). */
export async function recordWrongCode(sql: Sql, id: string, invalidate: boolean): Promise<void> {
	await sql`
		update channels set verification_attempts = verification_attempts + 1
			${invalidate ? sql`, verification_code_hash = null` : sql``}
		where id = ${id}`;
}

export async function markVerified(sql: Sql, id: string): Promise<ChannelRow> {
	const [row] = await sql<ChannelRow[]>`
		update channels set verified_at = now(), verification_code_hash = null,
			verification_expires_at = null, verification_attempts = 0
		where id = ${id} returning *`;
	return row!;
}
