/**
 * SQL of the delivery activities: plan a notification's deliveries, load one
 * with its channel and notification, record each attempt, settle the
 * delivery. Every write is idempotent or guarded by status, so activity
 * retries are safe.
 */
import type { ChannelRow } from "../channels/repository.ts";
import type { Sql as Pool, Queryable as Sql } from "../infra/db/sql.ts";
import type { NotificationRow } from "../notifications/repository.ts";

export type DeliveryStatus = "pending" | "delivered" | "failed";
export type AttemptOutcome = "ok" | "retryable" | "permanent" | "circuit_open" | "rate_limited";

export interface DeliveryRow {
	id: string;
	notification_id: string;
	channel_id: string;
	user_id: string;
	status: DeliveryStatus;
	idempotency_key: string;
	attempts: number;
	last_error: string | null;
	created_at: Date;
	delivered_at: Date | null;
}

/**
 * One delivery per channel of the notification's user that may receive it
 * (enabled; email only when verified); a second call adds only channels
 * that are new. Returns the deliveries still pending, oldest channel first.
 */
export async function planDeliveryRows(
	sql: Sql,
	notificationId: string,
): Promise<{ id: string; kind: ChannelRow["kind"] }[]> {
	await sql`
		insert into deliveries (notification_id, channel_id, user_id)
		select n.id, c.id, n.user_id
		from notifications n
		join channels c on c.user_id = n.user_id
		where n.id = ${notificationId} and c.enabled and (c.kind <> 'email' or c.verified_at is not null)
		order by c.created_at, c.id
		on conflict (notification_id, channel_id) do nothing`;
	// The reconciler starts a delivery workflow for notifications never planned.
	await sql`
		update notifications set delivery_planned_at = now()
		where id = ${notificationId} and delivery_planned_at is null`;
	const rows = await sql<{ id: string; kind: ChannelRow["kind"] }[]>`
		select d.id, c.kind from deliveries d join channels c on c.id = d.channel_id
		where d.notification_id = ${notificationId} and d.status = 'pending'
		order by c.created_at, c.id`;
	return [...rows];
}

export interface DeliveryContext {
	delivery: DeliveryRow;
	channel: ChannelRow;
	notification: NotificationRow;
}

export async function loadDelivery(sql: Sql, deliveryId: string): Promise<DeliveryContext | undefined> {
	const [delivery] = await sql<DeliveryRow[]>`select * from deliveries where id = ${deliveryId}`;
	if (!delivery) return undefined;
	const [channel] = await sql<ChannelRow[]>`select * from channels where id = ${delivery.channel_id}`;
	const [notification] = await sql<NotificationRow[]>`
		select * from notifications where id = ${delivery.notification_id}`;
	// Both cascade to the delivery: gone between the reads means the delivery is gone too.
	if (!channel || !notification) return undefined;
	return { delivery, channel, notification };
}

/** The attempt's row, written before the send: a worker that dies mid-attempt leaves it with no outcome. */
export async function beginAttempt(
	sql: Sql,
	deliveryId: string,
	attempt: number,
	destination: string,
): Promise<number> {
	const [row] = await sql<{ id: number }[]>`
		with counted as (update deliveries set attempts = attempts + 1 where id = ${deliveryId})
		insert into delivery_attempts (delivery_id, attempt, destination)
		values (${deliveryId}, ${attempt}, ${destination})
		returning id::int as id`;
	return row!.id;
}

export interface AttemptResult {
	outcome: AttemptOutcome;
	statusCode?: number;
	latencyMs: number;
	error?: string;
}

/**
 * Records the attempt's outcome and settles the delivery in one transaction:
 * `ok` → delivered, `permanent` → failed, anything else leaves it pending
 * with its last error.
 */
export async function finishAttempt(
	sql: Pool,
	deliveryId: string,
	attemptId: number,
	result: AttemptResult,
): Promise<void> {
	await sql.begin(async (tx) => {
		await tx`
			update delivery_attempts set outcome = ${result.outcome}, status_code = ${result.statusCode ?? null},
				latency_ms = ${Math.round(result.latencyMs)}, error = ${result.error ?? null}
			where id = ${attemptId}`;
		if (result.outcome === "ok")
			await tx`
				update deliveries set status = 'delivered', delivered_at = now(), last_error = null
				where id = ${deliveryId} and status = 'pending'`;
		else if (result.outcome === "permanent") await failDelivery(tx, deliveryId, result.error ?? "failed");
		else
			await tx`update deliveries set last_error = ${result.error ?? null}
				where id = ${deliveryId} and status = 'pending'`;
	});
}

/** Ends a pending delivery as failed (the last attempt failed, or the channel went away). */
export async function failDelivery(sql: Sql, deliveryId: string, error: string): Promise<void> {
	await sql`
		update deliveries set status = 'failed', last_error = ${error}
		where id = ${deliveryId} and status = 'pending'`;
}
