/**
 * What the reminder actor does to the world, in one activity: read the row
 * (locked), plan with the workflow's clock, record the due notifications
 * (idempotent by key `reminder:<id>:<firing>`), write the derived columns,
 * and, after the commit, start the delivery workflow (`delivery:<id>`, the
 * one every notification goes through) of every notification of this
 * reminder that has none yet: a retry after a crash loses none, and a
 * running one is not started twice. Started from here rather than as child
 * workflows, the actor's history stays small (and no abandoned child
 * outlives it).
 */
import { type Client, WorkflowExecutionAlreadyStartedError } from "@temporalio/client";
import type { Queryable, Sql } from "../../src/infra/db/sql.ts";
import { counter, histogram } from "../../src/infra/metrics.ts";
import { createNotification } from "../../src/notifications/repository.ts";
import { type DueFiring, planReminder } from "../../src/reminders/plan.ts";
import { localTime } from "../../src/reminders/recurrence.ts";
import { loadReminderState, type ReminderStateRow } from "../../src/reminders/state.ts";
import { deliveryWorkflowId } from "../../workflows/delivery-plan.ts";

export interface ReminderActorView {
	status: "active" | "paused" | "completed" | "cancelled" | "deleted";
	/** When the actor should next wake (ISO instant), or null. */
	nextFireAt: string | null;
	/** The firing it will send then. */
	nextFiring: string | null;
}

export interface SyncResult {
	view: ReminderActorView;
	/** Notifications of this reminder whose delivery workflow this call started (or found running). */
	notificationIds: string[];
}

export const reminderKey = (reminderId: string, firingId: string): string =>
	`reminder:${reminderId}:${firingId}`;
export const missedKey = (reminderId: string, firstFiringId: string): string =>
	`reminder:${reminderId}:missed:${firstFiringId}`;

export function createReminderActivities(deps: {
	sql: Sql;
	lateMs: number;
	temporal: Client;
	taskQueue: string;
}) {
	const { sql, lateMs, temporal, taskQueue } = deps;
	const deliver = (notificationId: string) =>
		temporal.workflow
			.start("deliverNotification", {
				workflowId: deliveryWorkflowId(notificationId),
				taskQueue,
				args: [{ notificationId }],
			})
			.catch((error) => {
				if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
			});
	return {
		/** Plans the reminder at `nowMs` (the workflow's clock), sends what is due, starts its deliveries. */
		async syncReminder(reminderId: string, nowMs: number): Promise<SyncResult> {
			const result = await plan(reminderId, nowMs);
			await Promise.all(result.notificationIds.map(deliver));
			return result;
		},
	};

	async function plan(reminderId: string, nowMs: number): Promise<SyncResult> {
		const fired: { outcome: "sent" | "missed"; lateMs: number }[] = [];
		const result = await sql.begin(async (tx): Promise<SyncResult> => {
			const row = await loadReminderState(tx, reminderId, { lock: true, nowMs });
			if (!row || row.deleted_at) {
				const ids = row ? await undelivered(tx, row.owner_id, reminderId) : [];
				return { view: { status: "deleted", nextFireAt: null, nextFiring: null }, notificationIds: ids };
			}
			const plan = planReminder(row.state, nowMs, lateMs);
			// This transaction's own writes do not go through the outbox back to the actor.
			await tx`select set_config('herald.reminder_actor', 'on', true)`;
			for (const f of plan.send) await sendFiring(tx, row, f, nowMs);
			if (plan.missed.length > 0) await sendMissed(tx, row, plan.missed, nowMs);
			for (const f of plan.send) fired.push({ outcome: "sent", lateMs: nowMs - f.dueMs });
			for (const f of plan.missed) fired.push({ outcome: "missed", lateMs: nowMs - f.dueMs });
			const status = plan.exhausted ? "completed" : row.state.status;
			const nextFireAt = plan.next ? new Date(plan.next.dueMs) : null;
			const sent = plan.send.length + plan.missed.length > 0;
			await tx`
					update reminders set
						fired_through = ${plan.firedThroughMs === null ? null : new Date(plan.firedThroughMs)},
						next_fire_at = ${nextFireAt},
						${sent ? tx`last_fired_at = ${new Date(nowMs)},` : tx``}
						${plan.clearSnooze ? tx`snoozed_until = null, snoozed_key = null,` : tx``}
						${row.newSchedule ? tx`planned_from = ${new Date(nowMs)},` : tx``}
						status = ${status}
					where id = ${reminderId}`;
			return {
				view: {
					status,
					nextFireAt: status === "active" && nextFireAt ? nextFireAt.toISOString() : null,
					nextFiring: status === "active" ? (plan.next?.id ?? null) : null,
				},
				notificationIds: await undelivered(tx, row.owner_id, reminderId),
			};
		});
		recordFirings(fired); // committed
		return result;
	}
}

const remindersFired = counter(
	"herald_reminders_fired_total",
	"Reminder firings, by outcome (sent | missed)",
	["outcome"],
);
const reminderLateness = histogram(
	"herald_reminder_lateness_seconds",
	"How late a reminder fired after it was due",
	[],
	[0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400],
);
function recordFirings(fired: { outcome: "sent" | "missed"; lateMs: number }[]): void {
	for (const f of fired) {
		remindersFired.inc({ outcome: f.outcome });
		reminderLateness.observe(Math.max(0, f.lateMs) / 1000);
	}
}

async function sendFiring(tx: Queryable, row: ReminderStateRow, f: DueFiring, nowMs: number): Promise<void> {
	const zone = row.state.schedule.timeZone;
	const when = localTime(f.occurrenceAtMs, zone);
	await createNotification(tx, {
		userId: row.owner_id,
		kind: "reminder",
		title: row.title,
		body: f.offset ? `Due ${when} (${zone}), reminder ${f.offset} ahead.` : `Due ${when} (${zone}).`,
		data: {
			reminderId: row.id,
			firing: f.id,
			occurrence: f.occurrence,
			offset: f.offset,
			scheduledAt: new Date(f.atMs).toISOString(),
			dueAt: new Date(f.dueMs).toISOString(),
			firedAt: new Date(nowMs).toISOString(),
			local: localTime(f.atMs, zone),
			timeZone: zone,
			snoozed: f.snoozed,
			subjectContactId: row.subject_contact_id,
			subjectTransactionId: row.subject_transaction_id,
		},
		dedupeKey: reminderKey(row.id, f.id),
	});
}

/** One notification for every firing the reminder missed (a downtime), never one each. */
async function sendMissed(
	tx: Queryable,
	row: ReminderStateRow,
	missed: DueFiring[],
	nowMs: number,
): Promise<void> {
	const zone = row.state.schedule.timeZone;
	const first = missed[0]!;
	const last = missed.at(-1)!;
	const span =
		missed.length === 1
			? `at ${localTime(first.atMs, zone)}`
			: `between ${localTime(first.atMs, zone)} and ${localTime(last.atMs, zone)}`;
	await createNotification(tx, {
		userId: row.owner_id,
		kind: "reminder_missed",
		title: `Missed: ${row.title}`,
		body: `${missed.length} reminder${missed.length === 1 ? " was" : "s were"} missed ${span} (${zone}).`,
		data: {
			reminderId: row.id,
			count: missed.length,
			firings: missed.slice(0, 50).map((f) => f.id),
			firstScheduledAt: new Date(first.atMs).toISOString(),
			lastScheduledAt: new Date(last.atMs).toISOString(),
			firedAt: new Date(nowMs).toISOString(),
			timeZone: zone,
		},
		dedupeKey: missedKey(row.id, first.id),
	});
}

/** This reminder's notifications that no delivery workflow has planned yet. */
async function undelivered(tx: Queryable, ownerId: string, reminderId: string): Promise<string[]> {
	const rows = await tx<{ id: string }[]>`
		select id from notifications
		where user_id = ${ownerId} and delivery_planned_at is null
		  and dedupe_key like ${`reminder:${reminderId}:%`}
		order by created_at, id`;
	return rows.map((r) => r.id);
}
