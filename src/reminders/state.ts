/**
 * A reminder row as the planner reads it: wall times as text (never through
 * a JavaScript Date, which would read them in the process's zone), the zone
 * resolved (a floating reminder takes its owner's), and the date of a
 * reminder that follows its debt's due date taken from the transaction.
 */
import type { Queryable } from "../infra/db/sql.ts";
import type { ReminderState, ReminderStatus } from "./plan.ts";

export interface ReminderStateRow {
	id: string;
	owner_id: string;
	title: string;
	subject_contact_id: string | null;
	subject_transaction_id: string | null;
	deleted_at: Date | null;
	/** The actor has not taken up this schedule yet (it records `planned_from` when it does). */
	newSchedule: boolean;
	state: ReminderState;
}

interface Raw {
	id: string;
	owner_id: string;
	title: string;
	subject_contact_id: string | null;
	subject_transaction_id: string | null;
	deleted_at: Date | null;
	local_start: string;
	due_date: string | null;
	zone: string;
	follow_due_date: boolean;
	rrule: string | null;
	exdates: string[];
	offsets: string[];
	status: ReminderStatus;
	snoozed_until: Date | null;
	snoozed_key: string | null;
	planned_from: Date | null;
	fired_through: Date | null;
}

/** `nowMs` stands in for a schedule the actor has not taken up yet. */
export const toStateRow = (r: Raw, nowMs: number): ReminderStateRow => ({
	id: r.id,
	owner_id: r.owner_id,
	title: r.title,
	subject_contact_id: r.subject_contact_id,
	subject_transaction_id: r.subject_transaction_id,
	deleted_at: r.deleted_at,
	newSchedule: r.planned_from === null,
	state: {
		status: r.status,
		schedule: {
			localStart: r.follow_due_date && r.due_date ? `${r.due_date}${r.local_start.slice(10)}` : r.local_start,
			timeZone: r.zone,
			rrule: r.rrule,
			exdates: r.exdates,
			offsets: r.offsets,
		},
		firedThroughMs: r.fired_through ? r.fired_through.getTime() : null,
		plannedFromMs: r.planned_from ? r.planned_from.getTime() : nowMs,
		snooze:
			r.snoozed_until && r.snoozed_key ? { id: r.snoozed_key, untilMs: r.snoozed_until.getTime() } : null,
	},
});

export async function loadReminderState(
	sql: Queryable,
	id: string,
	options: { lock?: boolean; ownerId?: string; nowMs?: number } = {},
): Promise<ReminderStateRow | undefined> {
	const [row] = await sql<Raw[]>`
		select r.id, r.owner_id, r.title, r.subject_contact_id, r.subject_transaction_id, r.deleted_at,
			to_char(r.local_start, 'YYYY-MM-DD"T"HH24:MI:SS') as local_start,
			to_char(t.due_date, 'YYYY-MM-DD') as due_date,
			coalesce(r.time_zone, u.timezone) as zone, r.follow_due_date, r.rrule,
			array(select to_char(e, 'YYYY-MM-DD"T"HH24:MI:SS') from unnest(r.exdates) e order by e) as exdates,
			r.offsets, r.status, r.snoozed_until, r.snoozed_key, r.planned_from, r.fired_through
		from reminders r join users u on u.id = r.owner_id
		left join transactions t on t.id = r.subject_transaction_id
		where r.id = ${id} ${options.ownerId ? sql`and r.owner_id = ${options.ownerId}` : sql``}
		${options.lock ? sql`for update of r` : sql``}`;
	return row ? toStateRow(row, options.nowMs ?? Date.now()) : undefined;
}
