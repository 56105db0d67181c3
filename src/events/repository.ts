/** SQL for events: one statement per function, rows mapped to the public views. */
import type { Queryable as Sql } from "../infra/db/sql.ts";
import type { EventStatus, EventView } from "./model.ts";

export interface EventRow {
	id: string;
	owner_id: string;
	title: string;
	description: string;
	starts_at: Date;
	ends_at: Date;
	location: string;
	capacity: number;
	status: EventStatus;
	reminder_offsets: number[];
	created_at: Date;
	updated_at: Date;
}

/** Columns a create or an update writes. */
export interface EventFields {
	title?: string;
	description?: string;
	starts_at?: Date;
	ends_at?: Date;
	location?: string;
	capacity?: number;
	status?: EventStatus;
	reminder_offsets?: number[];
}

export const toEventView = (e: EventRow): EventView => ({
	id: e.id,
	ownerId: e.owner_id,
	title: e.title,
	description: e.description,
	startsAt: e.starts_at.toISOString(),
	endsAt: e.ends_at.toISOString(),
	location: e.location,
	capacity: e.capacity,
	status: e.status,
	reminderOffsets: e.reminder_offsets.map(Number),
	createdAt: e.created_at.toISOString(),
	updatedAt: e.updated_at.toISOString(),
});

export interface EventFilter {
	ownerId: string;
	from: Date | undefined;
	to: Date | undefined;
	status: EventStatus | undefined;
}

export async function insertEvent(
	sql: Sql,
	ownerId: string,
	e: Required<Omit<EventFields, "status">>,
): Promise<EventRow> {
	const [row] = await sql<EventRow[]>`
		insert into events (owner_id, title, description, starts_at, ends_at, location, capacity, reminder_offsets)
		values (${ownerId}, ${e.title}, ${e.description}, ${e.starts_at}, ${e.ends_at}, ${e.location},
		        ${e.capacity}, ${sql.array(e.reminder_offsets, 23)})
		returning *`;
	return row!;
}

/**
 * Who may see event `e`: its owner and anyone with a participant row on it
 * (any status). The one definition, for the REST reads and the live topic.
 */
export const visibleTo = (sql: Sql, userId: string) =>
	sql`(e.owner_id = ${userId} or exists (select 1 from participants p where p.event_id = e.id and p.user_id = ${userId}))`;

/** The event if the user may see it (`visibleTo`). */
export async function findVisibleEvent(sql: Sql, id: string, userId: string): Promise<EventRow | undefined> {
	const [row] = await sql<
		EventRow[]
	>`select e.* from events e where e.id = ${id} and ${visibleTo(sql, userId)}`;
	return row;
}

export async function findOwnedEvent(sql: Sql, id: string, ownerId: string): Promise<EventRow | undefined> {
	const [row] = await sql<EventRow[]>`select * from events where id = ${id} and owner_id = ${ownerId}`;
	return row;
}

/** Locks the owner's event row for the rest of the transaction. */
export async function lockOwnedEvent(sql: Sql, id: string, ownerId: string): Promise<EventRow | undefined> {
	const [row] = await sql<EventRow[]>`
		select * from events where id = ${id} and owner_id = ${ownerId} for update`;
	return row;
}

/**
 * Locks, in id order, every event whose rows a deletion of this user changes
 * (owned events and events the user takes part in). A transaction that
 * changes several events locks them all first, sorted, so it cannot deadlock
 * with one that locks a single event and then changes it (migrations/00005).
 */
export async function lockEventsOfUser(sql: Sql, userId: string): Promise<void> {
	await sql`
		select id from events
		where owner_id = ${userId} or id in (select event_id from participants where user_id = ${userId})
		order by id for update`;
}

/** Locks any event row by id (registration: knowing the id is enough). */
export async function lockEvent(sql: Sql, id: string): Promise<EventRow | undefined> {
	const [row] = await sql<EventRow[]>`select * from events where id = ${id} for update`;
	return row;
}

export async function updateEvent(sql: Sql, id: string, fields: EventFields): Promise<EventRow> {
	const { reminder_offsets, ...plain } = fields;
	const columns: Record<string, unknown> = { ...plain };
	if (reminder_offsets) columns.reminder_offsets = sql.array(reminder_offsets, 23);
	const [row] = await sql<EventRow[]>`update events set ${sql(columns)} where id = ${id} returning *`;
	return row!;
}

export async function deleteOwnedEvent(sql: Sql, id: string, ownerId: string): Promise<boolean> {
	const rows = await sql`delete from events where id = ${id} and owner_id = ${ownerId} returning id`;
	return rows.length > 0;
}

function eventWhere(sql: Sql, f: EventFilter) {
	return sql`
		where owner_id = ${f.ownerId}
		${f.from ? sql`and starts_at >= ${f.from}` : sql``}
		${f.to ? sql`and starts_at < ${f.to}` : sql``}
		${f.status ? sql`and status = ${f.status}` : sql``}`;
}

export async function listEvents(
	sql: Sql,
	f: EventFilter,
	page: { limit: number; offset: number },
): Promise<EventRow[]> {
	const rows = await sql<EventRow[]>`
		select * from events ${eventWhere(sql, f)}
		order by starts_at, id limit ${page.limit} offset ${page.offset}`;
	return [...rows];
}

export async function countEvents(sql: Sql, f: EventFilter): Promise<number> {
	const [row] = await sql<{ n: number }[]>`select count(*)::int as n from events ${eventWhere(sql, f)}`;
	return row!.n;
}
