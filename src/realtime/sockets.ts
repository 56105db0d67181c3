/**
 * The WebSocket side of the realtime hub, shared by every feature's socket
 * routes: `socket: true` (any signed-in user) or `socket: check` (a function
 * that throws a domain error, e.g. NotFound, when the caller may not watch
 * what the route's params name), then `open: (ws) => sockets.open(ws, topic,
 * key)` and `close: (ws) => sockets.close(ws)`.
 *
 * Browsers cannot set headers on a WebSocket, so the access token comes from
 * `?access_token=` or, for other clients, `Authorization: Bearer` (the header
 * wins). Both are checked before the upgrade: a refusal is a plain HTTP
 * response with the usual error body (401 bad or missing token, 404 not
 * found or not visible to the caller) and no socket is opened. The first
 * message on a socket is `{ type: "ready" }`: every change committed after it
 * is delivered, none from before. Open sockets close with 4401 when the token
 * expires and 1001 on shutdown; topics add their own codes.
 */
import { Elysia, t } from "elysia";
import { decodeJwt } from "jose";
import type { AuthService, Principal } from "../auth/service.ts";
import { counter, gauge } from "../infra/metrics.ts";
import { CloseCode, type RealtimeHub, type Subscriber } from "./hub.ts";

export const TokenQuery = t.Object({
	access_token: t.Optional(
		t.String({ maxLength: 4096, description: "access token, for clients that cannot send headers" }),
	),
});

const MAX_TIMER_MS = 2_147_483_647;

const wsConnections = gauge("herald_ws_connections", "Open WebSocket subscriptions, by topic", ["topic"]);
const wsBackpressureCloses = counter(
	"herald_ws_backpressure_closes_total",
	"WebSockets closed because the client read too slowly, by topic and reason (dropped | slow_reader)",
	["topic", "reason"],
);

interface Socket {
	raw: object;
	send(data: string): number;
	close(code?: number, reason?: string): void;
	/** What the `socket` macro resolved (Elysia does not carry a function-valued macro's types). */
	data: object;
}

type SocketSession = { principal: Principal; tokenExpiresAt: number | undefined };

/** May the signed-in caller open this socket? Throws a domain error (401/404 body) when not. */
export type SocketCheck = (ctx: { principal: Principal; params: Record<string, string> }) => Promise<void>;

export function realtimeSockets(deps: { auth: AuthService; realtime: RealtimeHub }) {
	const { realtime } = deps;
	const live = new WeakMap<object, () => void>();

	async function authenticate(
		headers: Record<string, string | undefined>,
		query: Record<string, unknown>,
	): Promise<{ principal: Principal; tokenExpiresAt: number | undefined }> {
		const fromQuery = typeof query.access_token === "string" ? `Bearer ${query.access_token}` : undefined;
		const authorization = headers.authorization ?? fromQuery;
		const principal = await deps.auth.authenticate(authorization);
		return { principal, tokenExpiresAt: tokenExpiry(authorization) };
	}

	const plugin = new Elysia({ name: "herald/realtime-sockets" }).macro({
		socket: (check: true | SocketCheck) => ({
			async resolve({ headers, query, params }) {
				const session = await authenticate(headers, query);
				if (check !== true)
					await check({ principal: session.principal, params: params as Record<string, string> });
				return session;
			},
		}),
	});

	return {
		plugin,
		/**
		 * Subscribes the socket to `key` of `topic`; the hub sends `{ type: "ready" }` once it is live.
		 * `onReady` runs right after that message with the socket's user (a topic's snapshot goes
		 * there); a socket whose unsent bytes pass `maxBufferedBytes` is closed with 4429 (a slow
		 * reader: it reconnects).
		 */
		open(
			ws: Socket,
			topic: string,
			key: string,
			options: {
				onReady?: (send: (message: object) => void, userId: string) => void;
				maxBufferedBytes?: number;
			} = {},
		): void {
			const raw = ws.raw as { getBufferedAmount?: () => number };
			const session = ws.data as SocketSession;
			const sendRaw = (message: object) => {
				// 0: Bun dropped the message (the client reads too slowly, its buffer is full). A socket
				// that missed a message must not go on as if it had not: close it, the client resyncs.
				if (ws.send(JSON.stringify(message)) === 0) {
					wsBackpressureCloses.inc({ topic, reason: "dropped" });
					ws.close(CloseCode.tryAgainLater, "too slow: messages were dropped, reconnect to resync");
					return;
				}
				const limit = options.maxBufferedBytes;
				if (limit !== undefined && (raw.getBufferedAmount?.() ?? 0) > limit) {
					wsBackpressureCloses.inc({ topic, reason: "slow_reader" });
					ws.close(CloseCode.slowReader, "slow reader: reconnect");
				}
			};
			const subscriber: Subscriber = {
				send: (message) => {
					sendRaw(message);
					if (message.type === "ready") options.onReady?.(sendRaw, session.principal.user.id);
				},
				close: (code, reason) => ws.close(code, reason),
			};
			wsConnections.inc({ topic });
			const unsubscribe = realtime.subscribe(topic, key, session.principal.user.id, subscriber);
			const expiresAt = session.tokenExpiresAt;
			const timer =
				expiresAt === undefined
					? undefined
					: setTimeout(
							() => ws.close(CloseCode.tokenExpired, "token expired"),
							Math.min(Math.max(0, expiresAt - Date.now()), MAX_TIMER_MS),
						);
			live.set(ws.raw, () => {
				wsConnections.dec({ topic });
				unsubscribe();
				clearTimeout(timer);
			});
		},
		close(ws: { raw: object }): void {
			live.get(ws.raw)?.();
			live.delete(ws.raw);
		},
	};
}

export type RealtimeSockets = ReturnType<typeof realtimeSockets>;

/** When the (already verified) access token expires, in epoch ms. */
function tokenExpiry(authorization: string | undefined): number | undefined {
	const token = authorization?.replace(/^Bearer\s+/i, "").trim();
	if (!token) return undefined;
	try {
		const { exp } = decodeJwt(token);
		return typeof exp === "number" ? exp * 1000 : undefined;
	} catch {
		return undefined;
	}
}
