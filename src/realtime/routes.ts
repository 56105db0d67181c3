/**
 * WebSocket endpoints: `/ws/notifications` (the caller's new notifications)
 * and `/ws/events/:id` (live changes of one event, for its owner and its
 * participants).
 *
 * Browsers cannot set headers on a WebSocket, so the access token comes from
 * `?access_token=` or, for other clients, `Authorization: Bearer` (the header
 * wins). Both are checked before the upgrade: a refusal is a plain HTTP
 * response with the usual error body (401 bad or missing token, 404 event not
 * found or not visible to the caller) and no socket is opened. The first
 * message on a socket is `{ type: "ready" }`: every change committed after it is
 * delivered, none from before.
 * Open sockets close with 4401 when the token expires, 4403 when the user's
 * access to the event is revoked, 1000 when the event is deleted and 1001 on
 * shutdown.
 */
import { Elysia, t } from "elysia";
import { decodeJwt } from "jose";
import type { AuthService, Principal } from "../auth/service.ts";
import { NotFound } from "../http/errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import { eventAccess } from "./event-access.ts";
import { CloseCode, type RealtimeHub, type Subscriber } from "./hub.ts";

const TokenQuery = t.Object({
	access_token: t.Optional(
		t.String({ maxLength: 4096, description: "access token, for clients that cannot send headers" }),
	),
});

const MAX_TIMER_MS = 2_147_483_647;

interface Socket {
	raw: object;
	send(data: string): unknown;
	close(code?: number, reason?: string): void;
}

export function realtimeRoutes(deps: { auth: AuthService; realtime: RealtimeHub; sql: Sql }) {
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

	/** Subscribes the socket; the hub sends `{ type: "ready" }` once it is live. */
	function attach(
		ws: Socket,
		subscribe: (subscriber: Subscriber) => () => void,
		tokenExpiresAt: number | undefined,
	): void {
		const subscriber: Subscriber = {
			send: (message) => void ws.send(JSON.stringify(message)),
			close: (code, reason) => ws.close(code, reason),
		};
		const unsubscribe = subscribe(subscriber);
		const timer =
			tokenExpiresAt === undefined
				? undefined
				: setTimeout(
						() => ws.close(CloseCode.tokenExpired, "token expired"),
						Math.min(Math.max(0, tokenExpiresAt - Date.now()), MAX_TIMER_MS),
					);
		live.set(ws.raw, () => {
			unsubscribe();
			clearTimeout(timer);
		});
	}

	function detach(ws: Socket): void {
		live.get(ws.raw)?.();
		live.delete(ws.raw);
	}

	return new Elysia({ name: "herald/realtime", detail: { tags: ["realtime"] } })
		.macro({
			socket: (scope: "user" | "event") => ({
				async resolve({ headers, query, params }) {
					const session = await authenticate(headers, query);
					if (scope === "event") {
						const eventId = (params as { id: string }).id;
						// A stranger learns nothing: a hidden event looks like a missing one.
						if ((await eventAccess(deps.sql, eventId, session.principal.user.id)) !== "allowed")
							throw new NotFound("event");
					}
					return session;
				},
			}),
		})
		.ws("/ws/notifications", {
			socket: "user",
			query: TokenQuery,
			detail: { summary: "WebSocket: the caller's new notifications, as they are created" },
			open: (ws) =>
				attach(ws, (s) => realtime.subscribeUser(ws.data.principal.user.id, s), ws.data.tokenExpiresAt),
			close: (ws) => detach(ws),
		})
		.ws("/ws/events/:id", {
			socket: "event",
			query: TokenQuery,
			params: t.Object({ id: t.String({ format: "uuid" }) }),
			detail: { summary: "WebSocket: live changes of one event (its owner and participants only)" },
			open: (ws) =>
				attach(
					ws,
					(s) => realtime.subscribeEvent(ws.data.params.id, ws.data.principal.user.id, s),
					ws.data.tokenExpiresAt,
				),
			close: (ws) => detach(ws),
		});
}

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
