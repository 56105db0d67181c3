/**
 * What the WebSocket endpoints send, and parsing of the NOTIFY payloads they
 * come from (`migrations/00003_events_outbox.sql`).
 */
import type { NotificationView } from "../notifications/repository.ts";

export type Operation = "INSERT" | "UPDATE" | "DELETE";

/** A row change as the seed channels carry it: `data` left out when it would pass NOTIFY's limit. */
export interface ChangePayload {
	operation: Operation;
	id: string;
	data?: Record<string, unknown>;
	data_truncated?: boolean;
	timestamp: string;
}

export interface ChangeMessage {
	type: "event_change" | "participant_change";
	operation: Operation;
	id: string;
	data?: Record<string, unknown>;
	dataTruncated?: true;
	timestamp: string;
}

export type RealtimeMessage =
	/** The subscription is live: anything that happens from now on is delivered. */
	| { type: "ready" }
	/** The server's database listener reconnected: messages may have been missed, refetch over REST. */
	| { type: "resync" }
	| { type: "notification"; notification: NotificationView }
	| ChangeMessage;

const OPERATIONS = new Set<string>(["INSERT", "UPDATE", "DELETE"]);

const isRecord = (v: unknown): v is Record<string, unknown> =>
	typeof v === "object" && v !== null && !Array.isArray(v);

function parseJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

export function parseChange(text: string): ChangePayload | undefined {
	const v = parseJson(text);
	if (!isRecord(v) || typeof v.id !== "string" || typeof v.operation !== "string") return undefined;
	if (!OPERATIONS.has(v.operation)) return undefined;
	return {
		operation: v.operation as Operation,
		id: v.id,
		data: isRecord(v.data) ? v.data : undefined,
		data_truncated: v.data_truncated === true,
		timestamp: typeof v.timestamp === "string" ? v.timestamp : new Date().toISOString(),
	};
}

export function parseNotificationCreated(text: string): { id: string; userId: string } | undefined {
	const v = parseJson(text);
	if (!isRecord(v) || typeof v.id !== "string" || typeof v.userId !== "string") return undefined;
	return { id: v.id, userId: v.userId };
}

export function changeMessage(type: ChangeMessage["type"], change: ChangePayload): ChangeMessage {
	const message: ChangeMessage = {
		type,
		operation: change.operation,
		id: change.id,
		timestamp: change.timestamp,
	};
	if (change.data) message.data = change.data;
	if (change.data_truncated) message.dataTruncated = true;
	return message;
}
