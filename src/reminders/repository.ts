/** SQL for reminders: one statement per function, rows mapped to the public view. */
import type { Queryable as Sql } from "../infra/db/sql.ts";
import type { ReminderView } from "./model.ts";
import type { ReminderStatus } from "./plan.ts";

export interface ReminderRow {
	id: string;
	owner_id: string;
	title: string;
	notes: string;
	subject_contact_id: string | null;
	subject_transaction_id: string | null;
	local_start: string;
	time_zone: string | null;
	follow_due_date: boolean;
	rrule: string | null;
	exdates: string[];
	offsets: string[];
	status: ReminderStatus;
	snoozed_until: Date | null;
	next_fire_at: Date | null;
	last_fired_at: Date | null;
	created_at: Date;
	updated_at: Date;
}

/** Columns a create or an update writes (wall times as text, cast by the statement). */
export interface ReminderFields {
	title?: string;
	notes?: string;
	subject_contact_id?: string | null;
	subject_transaction_id?: string | null;
	local_start?: string;
	time_zone?: string | null;
	follow_due_date?: boolean;
	rrule?: string | null;
	exdates?: string[];
	offsets?: string[];
	status?: ReminderStatus;
	snoozed_until?: Date | null;
	snoozed_key?: string | null;
	fired_through?: Date | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const toReminderView = (r: ReminderRow): ReminderView => ({
	id: r.id,
	ownerId: r.owner_id,
	title: r.title,
	notes: r.notes,
	subjectContactId: r.subject_contact_id,
	subjectTransactionId: r.subject_transaction_id,
	dueAt: r.local_start,
	timeZone: r.time_zone,
	followDueDate: r.follow_due_date,
	rrule: r.rrule,
	exdates: r.exdates,
	offsets: r.offsets,
	status: r.status,
	snoozedUntil: iso(r.snoozed_until),
	nextFireAt: r.status === "active" ? iso(r.next_fire_at) : null,
	lastFiredAt: iso(r.last_fired_at),
	createdAt: r.created_at.toISOString(),
	updatedAt: r.updated_at.toISOString(),
});

export const columns = (sql: Sql) => sql`
	id, owner_id, title, notes, subject_contact_id, subject_transaction_id,
	to_char(local_start, 'YYYY-MM-DD"T"HH24:MI:SS') as local_start, time_zone, follow_due_date, rrule,
	array(select to_char(e, 'YYYY-MM-DD"T"HH24:MI:SS') from unnest(exdates) e order by e) as exdates,
	offsets, status, snoozed_until, next_fire_at, last_fired_at, created_at, updated_at`;

/** Column values for an insert or update, with wall times cast from text. */
function values(sql: Sql, f: ReminderFields): Record<string, unknown> {
	const { local_start, exdates, offsets, ...plain } = f;
	const out: Record<string, unknown> = { ...plain };
	if (local_start !== undefined) out.local_start = local_start;
	if (exdates !== undefined) out.exdates = sql.array(exdates, 1114);
	if (offsets !== undefined) out.offsets = sql.array(offsets, 25);
	return out;
}

export async function insertReminder(
	sql: Sql,
	ownerId: string,
	id: string | undefined,
	f: ReminderFields,
): Promise<ReminderRow> {
	const row = { ...values(sql, f), owner_id: ownerId, ...(id ? { id } : {}) };
	const [inserted] = await sql<ReminderRow[]>`
		insert into reminders ${sql(row)} returning ${columns(sql)}`;
	return inserted!;
}

/**
 * Whether a client-chosen reminder id was another user's: reminders are
 * deleted for good, but the sync index (sync_rows, 00010_sync.sql) keeps the
 * id's entry (live or a tombstone) for that user's devices. Reusing the id
 * would move the entry to the new owner and erase the other's tombstone.
 */
export async function reminderIdTakenElsewhere(sql: Sql, id: string, ownerId: string): Promise<boolean> {
	const [row] = await sql`
		select 1 from sync_rows where entity = 'reminder' and id = ${id} and owner_id <> ${ownerId}`;
	return row !== undefined;
}

export async function findOwnedReminder(
	sql: Sql,
	id: string,
	ownerId: string,
): Promise<ReminderRow | undefined> {
	const [row] = await sql<ReminderRow[]>`
		select ${columns(sql)} from reminders where id = ${id} and owner_id = ${ownerId} and deleted_at is null`;
	return row;
}

export async function lockOwnedReminder(
	sql: Sql,
	id: string,
	ownerId: string,
): Promise<ReminderRow | undefined> {
	const [row] = await sql<ReminderRow[]>`
		select ${columns(sql)} from reminders
		where id = ${id} and owner_id = ${ownerId} and deleted_at is null for update`;
	return row;
}

export async function updateReminder(sql: Sql, id: string, f: ReminderFields): Promise<ReminderRow> {
	const [row] = await sql<ReminderRow[]>`
		update reminders set ${sql(values(sql, f))} where id = ${id} returning ${columns(sql)}`;
	return row!;
}

export async function deleteOwnedReminder(sql: Sql, id: string, ownerId: string): Promise<boolean> {
	const rows = await sql`
		delete from reminders where id = ${id} and owner_id = ${ownerId} and deleted_at is null returning id`;
	return rows.length > 0;
}

const where = (sql: Sql, ownerId: string, status: ReminderStatus | undefined) => sql`
	where owner_id = ${ownerId} and deleted_at is null ${status ? sql`and status = ${status}` : sql``}`;

export async function listReminders(
	sql: Sql,
	ownerId: string,
	status: ReminderStatus | undefined,
	page: { limit: number; offset: number },
): Promise<ReminderRow[]> {
	const rows = await sql<ReminderRow[]>`
		select ${columns(sql)} from reminders ${where(sql, ownerId, status)}
		order by created_at, id limit ${page.limit} offset ${page.offset}`;
	return [...rows];
}

export async function countReminders(sql: Sql, ownerId: string, status: ReminderStatus | undefined) {
	const [row] = await sql<{ n: number }[]>`
		select count(*)::int as n from reminders ${where(sql, ownerId, status)}`;
	return row!.n;
}

/** A subject of the owner's (not deleted): a contact, or a transaction with its due date. */
export async function findSubjectContact(sql: Sql, ownerId: string, id: string): Promise<boolean> {
	const rows = await sql`
		select 1 from contacts where id = ${id} and owner_id = ${ownerId} and deleted_at is null`;
	return rows.length > 0;
}

export async function findSubjectTransaction(
	sql: Sql,
	ownerId: string,
	id: string,
): Promise<{ due_date: string | null; contact_id: string } | undefined> {
	const [row] = await sql<{ due_date: string | null; contact_id: string }[]>`
		select to_char(due_date, 'YYYY-MM-DD') as due_date, contact_id from transactions
		where id = ${id} and owner_id = ${ownerId} and deleted_at is null`;
	return row;
}

export async function ownerTimeZone(sql: Sql, ownerId: string): Promise<string> {
	const [row] = await sql<{ timezone: string }[]>`select timezone from users where id = ${ownerId}`;
	return row?.timezone ?? "UTC";
}
