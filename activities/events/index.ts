/**
 * What the event actor does to the world: read the current event, record
 * reminder notifications, promote waitlisted participants. Every write is
 * idempotent (dedupe keys, status guards), so Temporal retries are safe.
 */

import type { ParticipantStatus } from "../../src/events/model.ts";
import type { Sql } from "../../src/infra/db/sql.ts";
import { createNotification } from "../../src/notifications/repository.ts";
import type { EventSnapshot, PlannedReminder } from "../../workflows/event-plan.ts";
import { describeOffset, PLACE_HOLDING } from "../../workflows/event-plan.ts";

interface EventRow {
	id: string;
	title: string;
	starts_at: Date;
	ends_at: Date;
	status: "scheduled" | "cancelled";
	reminder_offsets: number[];
	capacity: number;
}

export function createEventActivities(deps: { sql: Sql }) {
	const { sql } = deps;
	return {
		async loadEventSnapshot(eventId: string): Promise<EventSnapshot | null> {
			const [event] = await sql<EventRow[]>`
				select id, title, starts_at, ends_at, status, reminder_offsets, capacity from events where id = ${eventId}`;
			if (!event) return null;
			const participants = await sql<{ id: string; user_id: string; status: string }[]>`
				select id, user_id, status from participants
				where event_id = ${eventId} and status <> 'cancelled' order by created_at, id`;
			return {
				id: event.id,
				title: event.title,
				startsAt: event.starts_at.toISOString(),
				endsAt: event.ends_at.toISOString(),
				status: event.status,
				reminderOffsets: event.reminder_offsets,
				capacity: event.capacity,
				participants: participants.map((p) => ({ id: p.id, userId: p.user_id, status: p.status })),
			};
		},

		/**
		 * One in-app notification per due reminder; a retry finds them already
		 * there. Returns the ids of this batch's notifications, new or found
		 * (a retry must still hand them to delivery, which deduplicates).
		 */
		async sendEventReminders(eventId: string, reminders: PlannedReminder[]): Promise<string[]> {
			const [event] = await sql<{ title: string; starts_at: Date }[]>`
				select title, starts_at from events where id = ${eventId}`;
			if (!event) return [];
			const ids: string[] = [];
			for (const r of reminders) {
				const result = await createNotification(sql, {
					userId: r.userId,
					kind: "event_reminder",
					title: `Reminder: ${event.title} starts ${describeOffset(r.offsetSeconds)}`,
					body: `${event.title} starts at ${event.starts_at.toISOString()}.`,
					data: {
						eventId,
						participantId: r.participantId,
						offsetSeconds: r.offsetSeconds,
						startsAt: event.starts_at,
					},
					dedupeKey: r.key,
				});
				ids.push(result.row.id);
			}
			return ids;
		},

		/**
		 * The event was cancelled: one notification to each participant who
		 * still held or awaited a place (idempotent by dedupe key). Returns their
		 * ids, new or found, for delivery.
		 */
		async notifyEventCancelled(eventId: string): Promise<string[]> {
			const [event] = await sql<{ title: string; starts_at: Date }[]>`
				select title, starts_at from events where id = ${eventId} and status = 'cancelled'`;
			if (!event) return [];
			const people = await sql<{ id: string; user_id: string }[]>`
				select id, user_id from participants
				where event_id = ${eventId} and status in ${sql([...PLACE_HOLDING, "waitlisted"] as ParticipantStatus[])}
				order by created_at, id`;
			const ids: string[] = [];
			for (const p of people) {
				const { row } = await createNotification(sql, {
					userId: p.user_id,
					kind: "event_cancelled",
					title: `Cancelled: ${event.title}`,
					body: `${event.title}, planned for ${event.starts_at.toISOString()}, has been cancelled.`,
					data: { eventId, participantId: p.id },
					dedupeKey: `cancelled:${p.id}`,
				});
				ids.push(row.id);
			}
			return ids;
		},

		/**
		 * Fills free places from the waitlist, oldest first, in one transaction
		 * holding the event row: concurrent cancellations and registrations
		 * serialize on it, so the event never goes above capacity. Returns the
		 * ids of the promotion notifications, one per promoted participant.
		 */
		async promoteWaitlisted(eventId: string): Promise<string[]> {
			return sql.begin(async (tx) => {
				const [event] = await tx<{ capacity: number; status: string; title: string; started: boolean }[]>`
					select capacity, status, title, starts_at <= now() as started from events where id = ${eventId} for update`;
				// Nobody is promoted into an event that has started (or been cancelled).
				if (event?.status !== "scheduled" || event.started) return [];
				const [taken] = await tx<{ n: number }[]>`
					select count(*)::int as n from participants
					where event_id = ${eventId} and status in ${tx([...PLACE_HOLDING] as ParticipantStatus[])}`;
				const free = event.capacity - taken!.n;
				if (free <= 0) return [];
				const promoted = await tx<{ id: string; user_id: string }[]>`
					update participants set status = 'registered'
					where id in (
						select id from participants where event_id = ${eventId} and status = 'waitlisted'
						order by created_at, id limit ${free})
					returning id, user_id`;
				const notificationIds: string[] = [];
				for (const p of promoted) {
					const { row } = await createNotification(tx, {
						userId: p.user_id,
						kind: "waitlist_promoted",
						title: `You're in: ${event.title}`,
						body: "A place freed up and your registration moved from the waitlist.",
						data: { eventId, participantId: p.id },
						dedupeKey: `promotion:${p.id}`,
					});
					notificationIds.push(row.id);
				}
				return notificationIds;
			});
		},
	};
}
