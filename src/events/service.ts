/**
 * Events and their participants. Every check that depends on other rows runs
 * in one transaction with the event row locked, so capacity holds under
 * concurrent registrations and capacity changes. Waitlist promotion and
 * reminders are the event actor's job, not this service's.
 */
import { Conflict, Forbidden, Invalid, NotFound } from "../errors.ts";
import { onUniqueViolation } from "../infra/db/errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import {
	type CreateEventBody,
	DEFAULT_REMINDER_OFFSETS,
	type EventListQuery,
	type EventView,
	MAX_CAPACITY,
	MAX_REMINDER_OFFSET_SECONDS,
	type ParticipantListQuery,
	type ParticipantView,
	type RegistrationQuery,
	type UpdateEventBody,
} from "./model.ts";
import {
	countEventParticipants,
	countPlacesTaken,
	countUserRegistrations,
	findLiveParticipant,
	insertParticipant,
	listEventParticipants,
	listUserRegistrations,
	lockParticipant,
	setParticipantStatus,
	toParticipantView,
} from "./participants-repository.ts";
import {
	countEvents,
	deleteOwnedEvent,
	type EventFields,
	type EventRow,
	findVisibleEvent,
	insertEvent,
	listEvents,
	lockEvent,
	lockOwnedEvent,
	toEventView,
	updateEvent,
} from "./repository.ts";

const page = (q: { limit?: number; offset?: number }) => ({ limit: q.limit ?? 20, offset: q.offset ?? 0 });

export function createEventService(deps: { sql: Sql }) {
	const { sql } = deps;
	return {
		async create(ownerId: string, input: CreateEventBody): Promise<EventView> {
			const startsAt = instant(input.startsAt, "startsAt");
			const endsAt = instant(input.endsAt, "endsAt");
			assertFuture(startsAt, "startsAt");
			assertOrder(startsAt, endsAt);
			const row = await insertEvent(sql, ownerId, {
				title: title(input.title),
				description: input.description ?? "",
				starts_at: startsAt,
				ends_at: endsAt,
				location: input.location ?? "",
				capacity: capacity(input.capacity),
				reminder_offsets: reminderOffsets(input.reminderOffsets ?? DEFAULT_REMINDER_OFFSETS),
			});
			return toEventView(row);
		},

		/** The caller's own events, by start time. */
		async list(ownerId: string, q: EventListQuery): Promise<{ items: EventView[]; total: number }> {
			const filter = {
				ownerId,
				from: q.from === undefined ? undefined : instant(q.from, "from"),
				to: q.to === undefined ? undefined : instant(q.to, "to"),
				status: q.status,
			};
			const [items, total] = await Promise.all([listEvents(sql, filter, page(q)), countEvents(sql, filter)]);
			return { items: items.map(toEventView), total };
		},

		/** Visible to the owner and to anyone with a participant row; 404 for everyone else. */
		async get(userId: string, id: string): Promise<EventView> {
			const row = await findVisibleEvent(sql, id, userId);
			if (!row) throw new NotFound("event");
			return toEventView(row);
		},

		async update(ownerId: string, id: string, change: UpdateEventBody): Promise<EventView> {
			const fields: EventFields = {};
			if (change.title !== undefined) fields.title = title(change.title);
			if (change.description !== undefined) fields.description = change.description;
			if (change.location !== undefined) fields.location = change.location;
			if (change.capacity !== undefined) fields.capacity = capacity(change.capacity);
			if (change.reminderOffsets !== undefined)
				fields.reminder_offsets = reminderOffsets(change.reminderOffsets);
			if (change.status !== undefined) fields.status = change.status;
			if (change.startsAt !== undefined) {
				fields.starts_at = instant(change.startsAt, "startsAt");
				assertFuture(fields.starts_at, "startsAt");
			}
			if (change.endsAt !== undefined) fields.ends_at = instant(change.endsAt, "endsAt");
			return sql.begin(async (tx) => {
				const current = await lockOwnedEvent(tx, id, ownerId);
				if (!current) throw new NotFound("event");
				if (current.status === "cancelled" && fields.status === "scheduled")
					throw new Conflict("a cancelled event cannot be scheduled again", { field: "status" });
				assertOrder(fields.starts_at ?? current.starts_at, fields.ends_at ?? current.ends_at);
				const changed = changedFields(fields, current);
				if (changed.capacity !== undefined && changed.capacity < current.capacity) {
					const taken = await countPlacesTaken(tx, id);
					if (changed.capacity < taken)
						throw new Conflict(`capacity cannot drop below the ${taken} places already taken`, {
							field: "capacity",
							placesTaken: taken,
						});
				}
				if (Object.keys(changed).length === 0) return toEventView(current);
				return toEventView(await updateEvent(tx, id, changed));
			});
		},

		/** Deletes the event; its participants go with it (foreign key cascade). */
		async remove(ownerId: string, id: string): Promise<void> {
			if (!(await deleteOwnedEvent(sql, id, ownerId))) throw new NotFound("event");
		},

		/**
		 * Registers the caller: `registered` while places are left, else `waitlisted`.
		 * The event row stays locked from the count to the insert.
		 */
		async register(userId: string, eventId: string): Promise<ParticipantView> {
			return onUniqueViolation(
				() =>
					sql.begin(async (tx) => {
						const event = await lockEvent(tx, eventId);
						if (!event) throw new NotFound("event");
						if (event.status === "cancelled")
							throw new Conflict("the event is cancelled", { reason: "event_cancelled" });
						if (event.starts_at.getTime() <= Date.now())
							throw new Conflict("the event has already started", { reason: "event_started" });
						if (await findLiveParticipant(tx, eventId, userId)) throw alreadyRegistered();
						const taken = await countPlacesTaken(tx, eventId);
						const status = taken < event.capacity ? "registered" : "waitlisted";
						return toParticipantView(await insertParticipant(tx, eventId, userId, status));
					}),
				alreadyRegistered,
			);
		},

		/** The event's participants in registration order (owner only). */
		/**
		 * The event's participants (owner only). One rule for everyone else: who
		 * cannot see the event gets 404 (as for the event itself); a participant,
		 * who can see it, gets 403.
		 */
		async participants(userId: string, eventId: string, q: ParticipantListQuery) {
			const event = await findVisibleEvent(sql, eventId, userId);
			if (!event) throw new NotFound("event");
			if (event.owner_id !== userId) throw new Forbidden("only the event's owner lists its participants");
			const [rows, total] = await Promise.all([
				listEventParticipants(sql, eventId, q.status, page(q)),
				countEventParticipants(sql, eventId, q.status),
			]);
			return { items: rows.map((r) => ({ ...toParticipantView(r), displayName: r.display_name })), total };
		},

		/**
		 * Cancels a registration (the row stays, as history). Allowed for the
		 * participant and the event's owner. Idempotent: an already cancelled
		 * participant is left as it is. Recorded attendance cannot be cancelled.
		 */
		async cancelParticipant(userId: string, eventId: string, participantId: string): Promise<void> {
			await sql.begin(async (tx) => {
				await lockEvent(tx, eventId); // lock order: the entity's row first (migrations/00005)
				const p = await lockParticipant(tx, eventId, participantId);
				if (!p || (p.user_id !== userId && p.owner_id !== userId)) throw new NotFound("participant");
				if (p.status === "cancelled") return;
				if (p.status === "attended")
					throw new Conflict("attendance is already recorded", { field: "status", from: p.status });
				await setParticipantStatus(tx, p.id, "cancelled");
			});
		},

		/** Owner only: `registered`/`confirmed` → `confirmed`/`attended`. */
		async changeParticipant(
			ownerId: string,
			eventId: string,
			participantId: string,
			status: "confirmed" | "attended",
		): Promise<ParticipantView> {
			return sql.begin(async (tx) => {
				await lockEvent(tx, eventId); // lock order: the entity's row first (migrations/00005)
				const p = await lockParticipant(tx, eventId, participantId);
				if (!p || p.owner_id !== ownerId) throw new NotFound("participant");
				if (p.status !== "registered" && p.status !== "confirmed")
					throw new Conflict(`a ${p.status} participant cannot become ${status}`, {
						field: "status",
						from: p.status,
						to: status,
					});
				if (p.status === status) return toParticipantView(p);
				return toParticipantView(await setParticipantStatus(tx, p.id, status));
			});
		},

		/** The caller's own participant rows, newest first, with the event's summary. */
		async registrations(userId: string, q: RegistrationQuery) {
			const [rows, total] = await Promise.all([
				listUserRegistrations(sql, userId, q.status, page(q)),
				countUserRegistrations(sql, userId, q.status),
			]);
			const items = rows.map((r) => ({
				...toParticipantView(r),
				event: {
					id: r.event_id,
					title: r.event_title,
					startsAt: r.event_starts_at.toISOString(),
					endsAt: r.event_ends_at.toISOString(),
					status: r.event_status,
				},
			}));
			return { items, total };
		},
	};
}

export type EventService = ReturnType<typeof createEventService>;

const alreadyRegistered = () =>
	new Conflict("you are already registered for this event", { reason: "already_registered" });

const invalid = (field: string, reason: string, message: string) => new Invalid(message, { field, reason });

function instant(value: string, field: string): Date {
	const date = new Date(value);
	if (Number.isNaN(date.getTime())) throw invalid(field, "invalid", `${field} is not a valid date-time`);
	return date;
}

function assertFuture(date: Date, field: string): void {
	if (date.getTime() <= Date.now()) throw invalid(field, "not_in_future", `${field} must be in the future`);
}

function assertOrder(startsAt: Date, endsAt: Date): void {
	if (endsAt.getTime() <= startsAt.getTime())
		throw invalid("endsAt", "not_after_start", "endsAt must be after startsAt");
}

function title(value: string): string {
	const trimmed = value.trim();
	if (trimmed.length < 1 || trimmed.length > 200)
		throw invalid("title", "length", "title must be 1 to 200 characters and not blank");
	return trimmed;
}

function capacity(value: number): number {
	if (!Number.isInteger(value) || value < 1 || value > MAX_CAPACITY)
		throw invalid("capacity", "range", `capacity must be an integer from 1 to ${MAX_CAPACITY}`);
	return value;
}

/** Validated and stored largest first (the earliest reminder first). */
function reminderOffsets(values: number[]): number[] {
	const ok = values.every((v) => Number.isInteger(v) && v >= 1 && v <= MAX_REMINDER_OFFSET_SECONDS);
	if (!ok || values.length > 10 || new Set(values).size !== values.length)
		throw invalid(
			"reminderOffsets",
			"invalid",
			`reminderOffsets must be at most 10 unique integers from 1 to ${MAX_REMINDER_OFFSET_SECONDS}`,
		);
	return [...values].sort((a, b) => b - a);
}

/** Only the fields whose value differs from the row: a no-op PATCH writes nothing. */
function changedFields(fields: EventFields, row: EventRow): EventFields {
	const same = (a: unknown, b: unknown) =>
		a instanceof Date && b instanceof Date
			? a.getTime() === b.getTime()
			: Array.isArray(a) && Array.isArray(b)
				? a.length === b.length && a.every((v, i) => v === Number(b[i]))
				: a === b;
	return Object.fromEntries(
		Object.entries(fields).filter(([key, value]) => !same(value, row[key as keyof EventRow])),
	) as EventFields;
}
