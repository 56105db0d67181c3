/**
 * Reminders: owner-scoped CRUD and the actions (snooze, pause, resume,
 * complete, preview). The service writes only the row; the reminder's actor
 * hears the change through the outbox and moves or stops its timer. Every
 * schedule is validated (zone, RRULE, offsets, dates) before anything is
 * written; a bad one is 422 with `details.field`.
 */
import { Conflict, Invalid, NotFound } from "../errors.ts";
import { onUniqueViolation } from "../infra/db/errors.ts";
import type { Queryable, Sql } from "../infra/db/sql.ts";
import type {
	CreateReminderBody,
	Preview,
	ReminderListQuery,
	ReminderView,
	SnoozeBody,
	UpdateReminderBody,
} from "./model.ts";
import { currentOccurrence, upcoming } from "./plan.ts";
import {
	localTime,
	resolveZone,
	type Schedule,
	ScheduleInvalid,
	utcOffset,
	validateSchedule,
	wallTime,
} from "./recurrence.ts";
import {
	countReminders,
	deleteOwnedReminder,
	findOwnedReminder,
	findSubjectContact,
	findSubjectTransaction,
	insertReminder,
	listReminders,
	lockOwnedReminder,
	ownerTimeZone,
	type ReminderFields,
	type ReminderRow,
	reminderIdTakenElsewhere,
	toReminderView,
	updateReminder,
} from "./repository.ts";
import { loadReminderState } from "./state.ts";

type Tx = Queryable;

const SCHEDULE_FIELDS = [
	"local_start",
	"time_zone",
	"follow_due_date",
	"rrule",
	"exdates",
	"offsets",
] as const;

export function createReminderService(deps: { sql: Sql }) {
	const { sql } = deps;

	/** Validates the merged schedule and the subjects; returns the fields to write. */
	async function resolve(tx: Tx, ownerId: string, input: UpdateReminderBody, current?: ReminderRow) {
		const f: ReminderFields = {};
		if (input.title !== undefined) f.title = title(input.title);
		if (input.notes !== undefined) f.notes = input.notes;
		if (input.subjectContactId !== undefined) {
			if (input.subjectContactId && !(await findSubjectContact(tx, ownerId, input.subjectContactId)))
				throw invalid("subjectContactId", "not_found", "no such contact");
			f.subject_contact_id = input.subjectContactId;
		}
		if (input.subjectTransactionId !== undefined) f.subject_transaction_id = input.subjectTransactionId;
		const transactionId =
			f.subject_transaction_id ??
			(input.subjectTransactionId === null ? null : (current?.subject_transaction_id ?? null));
		const transaction = transactionId ? await findSubjectTransaction(tx, ownerId, transactionId) : undefined;
		if (transactionId && !transaction)
			throw invalid("subjectTransactionId", "not_found", "no such transaction");
		if (input.timeZone !== undefined) f.time_zone = input.timeZone === null ? null : zone(input.timeZone);
		if (input.rrule !== undefined)
			f.rrule = input.rrule === null ? null : input.rrule.trim().replace(/^RRULE:/i, "");
		if (input.exdates !== undefined)
			f.exdates = [...new Set(input.exdates.map((e) => wall(e, "exdates")))].sort();
		if (input.offsets !== undefined) f.offsets = input.offsets;
		if (input.followDueDate !== undefined) f.follow_due_date = input.followDueDate;
		const follow = f.follow_due_date ?? current?.follow_due_date ?? false;
		if (follow && !transactionId)
			throw invalid("followDueDate", "no_transaction", "followDueDate needs a subjectTransactionId");
		if (follow && !transaction?.due_date)
			throw invalid("followDueDate", "no_due_date", "the subject transaction has no due date");
		if (input.dueAt !== undefined) f.local_start = wall(input.dueAt, "dueAt");
		if (follow && (input.dueTime !== undefined || input.followDueDate || f.local_start === undefined)) {
			const time = input.dueTime ?? (f.local_start ?? current?.local_start)?.slice(11, 16) ?? "09:00";
			f.local_start = wall(`${transaction!.due_date}T${time}`, "dueTime");
		}
		const localStart = f.local_start ?? current?.local_start;
		if (!localStart) throw invalid("dueAt", "required", "dueAt is required unless followDueDate is set");
		const schedule: Schedule = {
			localStart,
			timeZone:
				(f.time_zone !== undefined ? f.time_zone : current?.time_zone) ?? (await ownerTimeZone(tx, ownerId)),
			rrule: f.rrule !== undefined ? f.rrule : (current?.rrule ?? null),
			exdates: f.exdates ?? current?.exdates ?? [],
			offsets: f.offsets ?? current?.offsets ?? [],
		};
		try {
			validateSchedule(schedule);
		} catch (error) {
			if (error instanceof ScheduleInvalid) throw invalid(error.field, "invalid", error.message);
			throw error;
		}
		return f;
	}

	async function locked<T>(
		ownerId: string,
		id: string,
		fn: (tx: Tx, row: ReminderRow) => Promise<T>,
	): Promise<T> {
		return (await sql.begin(async (tx) => {
			const row = await lockOwnedReminder(tx, id, ownerId);
			if (!row) throw new NotFound("reminder");
			return fn(tx, row);
		})) as T;
	}

	async function stateOf(tx: Tx, ownerId: string, id: string) {
		const s = await loadReminderState(tx, id, { ownerId });
		if (!s) throw new NotFound("reminder");
		return s.state;
	}

	return {
		async create(ownerId: string, input: CreateReminderBody): Promise<ReminderView> {
			const exists = () => new Conflict("a reminder with this id exists", { field: "id" });
			return onUniqueViolation(
				() =>
					sql.begin(async (tx) => {
						if (input.id && (await reminderIdTakenElsewhere(tx, input.id, ownerId))) throw exists();
						const f = await resolve(tx, ownerId, input);
						return toReminderView(await insertReminder(tx, ownerId, input.id, f));
					}),
				exists,
			);
		},

		async list(ownerId: string, q: ReminderListQuery): Promise<{ items: ReminderView[]; total: number }> {
			const page = { limit: q.limit ?? 20, offset: q.offset ?? 0 };
			const [items, total] = await Promise.all([
				listReminders(sql, ownerId, q.status, page),
				countReminders(sql, ownerId, q.status),
			]);
			return { items: items.map(toReminderView), total };
		},

		async get(ownerId: string, id: string): Promise<ReminderView> {
			const row = await findOwnedReminder(sql, id, ownerId);
			if (!row) throw new NotFound("reminder");
			return toReminderView(row);
		},

		/** A new schedule starts afresh (the cursor resets; a completed reminder is active again). */
		async update(ownerId: string, id: string, input: UpdateReminderBody): Promise<ReminderView> {
			return locked(ownerId, id, async (tx, current) => {
				const f = await resolve(tx, ownerId, input, current);
				const changed = SCHEDULE_FIELDS.some(
					(k) => f[k] !== undefined && JSON.stringify(f[k]) !== JSON.stringify(current[k]),
				);
				if (changed) {
					f.fired_through = null;
					f.snoozed_until = null;
					f.snoozed_key = null;
					if (current.status === "completed") f.status = "active";
				}
				if (input.status === "cancelled") {
					f.status = "cancelled";
					f.snoozed_until = null;
					f.snoozed_key = null;
				}
				if (Object.keys(f).length === 0) return toReminderView(current);
				return toReminderView(await updateReminder(tx, id, f));
			});
		},

		async remove(ownerId: string, id: string): Promise<void> {
			if (!(await deleteOwnedReminder(sql, id, ownerId))) throw new NotFound("reminder");
		},

		/** Moves the pending firing (the one `nextFireAt` shows) to `until`; later ones keep their times. */
		async snooze(ownerId: string, id: string, body: SnoozeBody): Promise<ReminderView> {
			const now = Date.now();
			if ((body.until === undefined) === (body.minutes === undefined))
				throw invalid("until", "one_of", "give either until or minutes");
			const until = body.until !== undefined ? new Date(body.until) : new Date(now + body.minutes! * 60_000);
			if (Number.isNaN(until.getTime())) throw invalid("until", "invalid", "until is not a valid date-time");
			if (until.getTime() <= now) throw invalid("until", "not_in_future", "until must be in the future");
			return locked(ownerId, id, async (tx, row) => {
				if (row.status !== "active") throw notActive(row.status, "snoozed");
				const pending = upcoming(await stateOf(tx, ownerId, id), now, 1)[0];
				if (!pending) throw new Conflict("nothing left to snooze", { reason: "nothing_pending" });
				return toReminderView(
					await updateReminder(tx, id, { snoozed_until: until, snoozed_key: pending.id }),
				);
			});
		},

		async pause(ownerId: string, id: string): Promise<ReminderView> {
			return locked(ownerId, id, async (tx, row) => {
				if (row.status === "paused") return toReminderView(row);
				if (row.status !== "active") throw notActive(row.status, "paused");
				return toReminderView(await updateReminder(tx, id, { status: "paused" }));
			});
		},

		/** Resuming re-plans, like a schedule change: of the firings missed while paused, only the latest is sent. */
		async resume(ownerId: string, id: string): Promise<ReminderView> {
			return locked(ownerId, id, async (tx, row) => {
				if (row.status === "active") return toReminderView(row);
				if (row.status !== "paused") throw notActive(row.status, "resumed");
				await tx`update reminders set plan_version = plan_version + 1 where id = ${id}`;
				return toReminderView(
					await updateReminder(tx, id, { status: "active", snoozed_until: null, snoozed_key: null }),
				);
			});
		},

		/**
		 * A one-off reminder is done. A recurring one's next occurrence (all its
		 * firings) is done and the series goes on; after its last occurrence it is done.
		 */
		async complete(ownerId: string, id: string): Promise<ReminderView> {
			return locked(ownerId, id, async (tx, row) => {
				if (row.status === "completed") return toReminderView(row);
				if (row.status === "cancelled") throw notActive(row.status, "completed");
				const state = await stateOf(tx, ownerId, id);
				const now = Date.now();
				const current = row.rrule === null ? null : currentOccurrence({ ...state, status: "active" }, now);
				if (!current)
					return toReminderView(
						await updateReminder(tx, id, { status: "completed", snoozed_until: null, snoozed_key: null }),
					);
				const through = Math.max(state.firedThroughMs ?? 0, current.lastFiringMs);
				const f: ReminderFields = { fired_through: new Date(through) };
				if (state.snooze && current.firingIds.includes(state.snooze.id)) {
					f.snoozed_until = null;
					f.snoozed_key = null;
				}
				const rest = upcoming(
					{
						...state,
						status: "active",
						firedThroughMs: through,
						snooze: f.snoozed_key === null ? null : state.snooze,
					},
					now,
					1,
				);
				if (rest.length === 0) f.status = "completed";
				return toReminderView(await updateReminder(tx, id, f));
			});
		},

		/** The next firings, computed from the row with the planner the actor uses. */
		async preview(ownerId: string, id: string, count: number): Promise<Preview> {
			const s = await loadReminderState(sql, id, { ownerId });
			if (!s || s.deleted_at) throw new NotFound("reminder");
			const zone = s.state.schedule.timeZone;
			const items = upcoming(s.state, Date.now(), count).map((f) => ({
				firing: f.id,
				occurrence: f.occurrence,
				offset: f.offset,
				fireAt: new Date(f.dueMs).toISOString(),
				local: localTime(f.dueMs, zone),
				utcOffset: utcOffset(f.dueMs, zone),
				snoozed: f.snoozed,
			}));
			return { reminderId: id, timeZone: zone, status: s.state.status, items };
		},
	};
}

export type ReminderService = ReturnType<typeof createReminderService>;

const invalid = (field: string, reason: string, message: string) => new Invalid(message, { field, reason });

const notActive = (status: string, what: string) =>
	new Conflict(`a ${status} reminder cannot be ${what}`, { field: "status", from: status });

function title(value: string): string {
	const trimmed = value.trim();
	if (trimmed.length < 1 || trimmed.length > 200)
		throw invalid("title", "length", "title must be 1 to 200 characters and not blank");
	return trimmed;
}

function zone(value: string): string {
	try {
		return resolveZone(value);
	} catch (error) {
		if (error instanceof ScheduleInvalid) throw invalid("timeZone", "unknown", error.message);
		throw error;
	}
}

function wall(value: string, field: string): string {
	try {
		return wallTime(value, field);
	} catch (error) {
		if (error instanceof ScheduleInvalid) throw invalid(field, "invalid", error.message);
		throw error;
	}
}
