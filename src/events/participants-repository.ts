/** SQL for participants: one statement per function, rows mapped to the public views. */

import { PLACE_HOLDING } from "../../workflows/event-plan.ts";
import type { Queryable as Sql } from "../infra/db/sql.ts";
import type { EventStatus, ParticipantStatus, ParticipantView } from "./model.ts";

export interface ParticipantRow {
	id: string;
	event_id: string;
	user_id: string;
	status: ParticipantStatus;
	created_at: Date;
	updated_at: Date;
}

export { PLACE_HOLDING } from "../../workflows/event-plan.ts";

export const toParticipantView = (p: ParticipantRow): ParticipantView => ({
	id: p.id,
	eventId: p.event_id,
	userId: p.user_id,
	status: p.status,
	createdAt: p.created_at.toISOString(),
	updatedAt: p.updated_at.toISOString(),
});

type Page = { limit: number; offset: number };

export async function countPlacesTaken(sql: Sql, eventId: string): Promise<number> {
	const [row] = await sql<{ n: number }[]>`
		select count(*)::int as n from participants
		where event_id = ${eventId} and status in ${sql([...PLACE_HOLDING] as ParticipantStatus[])}`;
	return row!.n;
}

/** The user's registration that is not cancelled, if any (at most one: index participants_live). */
export async function findLiveParticipant(
	sql: Sql,
	eventId: string,
	userId: string,
): Promise<ParticipantRow | undefined> {
	const [row] = await sql<ParticipantRow[]>`
		select * from participants where event_id = ${eventId} and user_id = ${userId} and status <> 'cancelled'`;
	return row;
}

/**
 * Stamped with the clock at insert (after the event lock), not the transaction
 * start: registration order, and so the waitlist order, is the order of the decisions.
 */
export async function insertParticipant(
	sql: Sql,
	eventId: string,
	userId: string,
	status: ParticipantStatus,
): Promise<ParticipantRow> {
	const [row] = await sql<ParticipantRow[]>`
		insert into participants (event_id, user_id, status, created_at, updated_at)
		select ${eventId}, ${userId}, ${status}, t, t from clock_timestamp() as t
		returning *`;
	return row!;
}

/** Locks a participant row of this event, with the event's owner for the permission check. */
export async function lockParticipant(
	sql: Sql,
	eventId: string,
	participantId: string,
): Promise<(ParticipantRow & { owner_id: string }) | undefined> {
	const [row] = await sql<(ParticipantRow & { owner_id: string })[]>`
		select p.*, e.owner_id from participants p join events e on e.id = p.event_id
		where p.id = ${participantId} and p.event_id = ${eventId}
		for update of p`;
	return row;
}

export async function setParticipantStatus(
	sql: Sql,
	id: string,
	status: ParticipantStatus,
): Promise<ParticipantRow> {
	const [row] = await sql<ParticipantRow[]>`
		update participants set status = ${status} where id = ${id} returning *`;
	return row!;
}

export async function listEventParticipants(
	sql: Sql,
	eventId: string,
	status: ParticipantStatus | undefined,
	page: Page,
): Promise<(ParticipantRow & { display_name: string })[]> {
	const rows = await sql<(ParticipantRow & { display_name: string })[]>`
		select p.*, u.display_name from participants p join users u on u.id = p.user_id
		where p.event_id = ${eventId} ${status ? sql`and p.status = ${status}` : sql``}
		order by p.created_at, p.id limit ${page.limit} offset ${page.offset}`;
	return [...rows];
}

export async function countEventParticipants(
	sql: Sql,
	eventId: string,
	status: ParticipantStatus | undefined,
): Promise<number> {
	const [row] = await sql<{ n: number }[]>`
		select count(*)::int as n from participants
		where event_id = ${eventId} ${status ? sql`and status = ${status}` : sql``}`;
	return row!.n;
}

export interface RegistrationRow extends ParticipantRow {
	event_title: string;
	event_starts_at: Date;
	event_ends_at: Date;
	event_status: EventStatus;
}

export async function listUserRegistrations(
	sql: Sql,
	userId: string,
	status: ParticipantStatus | undefined,
	page: Page,
): Promise<RegistrationRow[]> {
	const rows = await sql<RegistrationRow[]>`
		select p.*, e.title as event_title, e.starts_at as event_starts_at, e.ends_at as event_ends_at,
		       e.status as event_status
		from participants p join events e on e.id = p.event_id
		where p.user_id = ${userId} ${status ? sql`and p.status = ${status}` : sql``}
		order by p.created_at desc, p.id desc limit ${page.limit} offset ${page.offset}`;
	return [...rows];
}

export async function countUserRegistrations(
	sql: Sql,
	userId: string,
	status: ParticipantStatus | undefined,
): Promise<number> {
	const [row] = await sql<{ n: number }[]>`
		select count(*)::int as n from participants
		where user_id = ${userId} ${status ? sql`and status = ${status}` : sql``}`;
	return row!.n;
}
