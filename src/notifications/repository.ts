/**
 * SQL for the in-app inbox: one statement per function, rows mapped to the
 * public view. Free of HTTP concerns: the event actor's activities call
 * `createNotification` directly.
 */
import type { Queryable } from "../infra/db/sql.ts";

type Sql = Queryable;

export interface NotificationRow {
	id: string;
	user_id: string;
	kind: string;
	title: string;
	body: string;
	data: Record<string, unknown>;
	dedupe_key: string;
	created_at: Date;
	read_at: Date | null;
}

/** The shape REST responses and WebSocket messages share. */
export interface NotificationView {
	id: string;
	kind: string;
	title: string;
	body: string;
	data: Record<string, unknown>;
	createdAt: string;
	readAt: string | null;
}

export const toNotificationView = (n: NotificationRow): NotificationView => ({
	id: n.id,
	kind: n.kind,
	title: n.title,
	body: n.body,
	data: n.data,
	createdAt: n.created_at.toISOString(),
	readAt: n.read_at ? n.read_at.toISOString() : null,
});

export interface NewNotification {
	userId: string;
	kind: string;
	title: string;
	body?: string;
	data?: Record<string, unknown>;
	/** Idempotency key per user: the same reminder or promotion is recorded once. */
	dedupeKey: string;
}

/**
 * Records a notification once per (user, dedupe key). A repeat returns the
 * existing row with `created: false` and fires no second `notification_created`.
 */
export async function createNotification(
	sql: Sql,
	input: NewNotification,
): Promise<{ row: NotificationRow; created: boolean }> {
	const [inserted] = await sql<NotificationRow[]>`
		insert into notifications (user_id, kind, title, body, data, dedupe_key)
		values (${input.userId}, ${input.kind}, ${input.title}, ${input.body ?? ""},
		        ${sql.json((input.data ?? {}) as Parameters<typeof sql.json>[0])}, ${input.dedupeKey})
		on conflict (user_id, dedupe_key) do nothing
		returning *`;
	if (inserted) return { row: inserted, created: true };
	const [existing] = await sql<NotificationRow[]>`
		select * from notifications where user_id = ${input.userId} and dedupe_key = ${input.dedupeKey}`;
	if (!existing) throw new Error("notification vanished between insert and select");
	return { row: existing, created: false };
}

/** The caller's notification by id; undefined when it is missing or someone else's. */
export async function findNotification(
	sql: Sql,
	userId: string,
	id: string,
): Promise<NotificationRow | undefined> {
	const [row] = await sql<NotificationRow[]>`
		select * from notifications where id = ${id} and user_id = ${userId}`;
	return row;
}

export async function listNotifications(
	sql: Sql,
	userId: string,
	options: { unreadOnly: boolean; limit: number; offset: number },
): Promise<NotificationRow[]> {
	const rows = await sql<NotificationRow[]>`
		select * from notifications
		where user_id = ${userId} ${options.unreadOnly ? sql`and read_at is null` : sql``}
		order by created_at desc, id desc
		limit ${options.limit} offset ${options.offset}`;
	return [...rows];
}

export async function countNotifications(
	sql: Sql,
	userId: string,
): Promise<{ total: number; unread: number }> {
	const [row] = await sql<{ total: number; unread: number }[]>`
		select count(*)::int as total, (count(*) filter (where read_at is null))::int as unread
		from notifications where user_id = ${userId}`;
	return row!;
}

/** Idempotent: an already-read notification keeps its first `read_at`. */
export async function markNotificationRead(
	sql: Sql,
	userId: string,
	id: string,
): Promise<NotificationRow | undefined> {
	const [row] = await sql<NotificationRow[]>`
		update notifications set read_at = coalesce(read_at, now())
		where id = ${id} and user_id = ${userId}
		returning *`;
	return row;
}

/** Marks every unread notification of the user read; returns how many changed. */
export async function markAllNotificationsRead(sql: Sql, userId: string): Promise<number> {
	const result = await sql`
		update notifications set read_at = now() where user_id = ${userId} and read_at is null`;
	return result.count;
}
