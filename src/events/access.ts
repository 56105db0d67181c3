/** Who may watch an event live: its owner and users with a participant row on it. */
import type { Queryable } from "../infra/db/sql.ts";
import { visibleTo } from "./repository.ts";

export type EventAccess = "allowed" | "denied" | "missing";

export async function eventAccess(sql: Queryable, eventId: string, userId: string): Promise<EventAccess> {
	const [row] = await sql<{ allowed: boolean }[]>`
		select ${visibleTo(sql, userId)} as allowed from events e where e.id = ${eventId}`;
	if (!row) return "missing";
	return row.allowed ? "allowed" : "denied";
}

/** The event a participant row belongs to (for changes whose data was too large for NOTIFY). */
export async function participantEventId(sql: Queryable, participantId: string): Promise<string | undefined> {
	const [row] = await sql<
		{ event_id: string }[]
	>`select event_id from participants where id = ${participantId}`;
	return row?.event_id;
}
