/** SQL of the deliveries API: the caller's deliveries, newest first, each with its attempts. */
import type { Queryable as Sql } from "../infra/db/sql.ts";
import type { AttemptView, DeliveryView } from "./model.ts";
import type { AttemptOutcome, DeliveryRow } from "./repository.ts";

interface ListedRow extends DeliveryRow {
	channel_kind: DeliveryView["channelKind"];
	channel_name: string;
}

interface AttemptRow {
	delivery_id: string;
	attempt: number;
	destination: string;
	outcome: AttemptOutcome | null;
	status_code: number | null;
	latency_ms: number | null;
	error: string | null;
	created_at: Date;
}

export interface DeliveryFilter {
	userId: string;
	status: DeliveryRow["status"] | undefined;
}

const where = (sql: Sql, f: DeliveryFilter) =>
	sql`where d.user_id = ${f.userId} ${f.status ? sql`and d.status = ${f.status}` : sql``}`;

export async function listUserDeliveries(
	sql: Sql,
	f: DeliveryFilter,
	page: { limit: number; offset: number },
): Promise<DeliveryView[]> {
	const rows = await sql<ListedRow[]>`
		select d.*, c.kind as channel_kind, c.name as channel_name
		from deliveries d join channels c on c.id = d.channel_id
		${where(sql, f)}
		order by d.created_at desc, d.id desc
		limit ${page.limit} offset ${page.offset}`;
	if (rows.length === 0) return [];
	const attempts = await sql<AttemptRow[]>`
		select delivery_id, attempt, destination, outcome, status_code, latency_ms, error, created_at
		from delivery_attempts where delivery_id in ${sql(rows.map((r) => r.id))}
		order by id`;
	const byDelivery = Map.groupBy(attempts, (a) => a.delivery_id);
	return rows.map((d) => toDeliveryView(d, byDelivery.get(d.id) ?? []));
}

export async function countUserDeliveries(sql: Sql, f: DeliveryFilter): Promise<number> {
	const [row] = await sql<{ n: number }[]>`select count(*)::int as n from deliveries d ${where(sql, f)}`;
	return row!.n;
}

const toAttemptView = (a: AttemptRow): AttemptView => ({
	attempt: a.attempt,
	destination: a.destination,
	outcome: a.outcome,
	statusCode: a.status_code,
	latencyMs: a.latency_ms,
	error: a.error,
	createdAt: a.created_at.toISOString(),
});

const toDeliveryView = (d: ListedRow, attempts: AttemptRow[]): DeliveryView => ({
	id: d.id,
	notificationId: d.notification_id,
	channelId: d.channel_id,
	channelKind: d.channel_kind,
	channelName: d.channel_name,
	status: d.status,
	idempotencyKey: d.idempotency_key,
	attemptCount: d.attempts,
	lastError: d.last_error,
	createdAt: d.created_at.toISOString(),
	deliveredAt: d.delivered_at ? d.delivered_at.toISOString() : null,
	attempts: attempts.map(toAttemptView),
});
