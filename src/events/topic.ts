/**
 * The `events` realtime topic: live changes of one event (key: the event id)
 * from the seed channels `event_changes` and `participant_changes`. A
 * participant row that goes away closes that user's sockets on the event
 * unless they still have access; a deleted event closes every socket on it.
 */

import { CloseCode, type Topic } from "../realtime/hub.ts";
import { changeMessage, parseChange } from "../realtime/messages.ts";
import { eventAccess, participantEventId } from "./access.ts";

export const EVENTS_TOPIC = "events";

export const eventsTopic: Topic = {
	name: EVENTS_TOPIC,
	channels: ["event_changes", "participant_changes"],
	async onNotify(channel, text, topic) {
		const change = parseChange(text);
		if (!change) return;
		if (channel === "event_changes") {
			if (!topic.has(change.id)) return;
			topic.send(change.id, changeMessage("event_change", change));
			if (change.operation === "DELETE") topic.close(change.id, CloseCode.normal, "event deleted");
			return;
		}
		const fromData = change.data?.event_id;
		// Truncated data: find the event by the participant's id (gone after a DELETE: dropped).
		const eventId = typeof fromData === "string" ? fromData : await participantEventId(topic.sql, change.id);
		if (!eventId || !topic.has(eventId)) return;
		topic.send(eventId, changeMessage("participant_change", change));
		const userId = change.data?.user_id;
		if (change.operation !== "DELETE" || typeof userId !== "string") return;
		// "missing": the event itself is being deleted; its DELETE change closes the sockets.
		if (!topic.watching(eventId, userId)) return;
		if ((await eventAccess(topic.sql, eventId, userId)) !== "denied") return;
		topic.close(eventId, CloseCode.accessRevoked, "access revoked", userId);
	},
};
