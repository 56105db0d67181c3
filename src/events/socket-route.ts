/**
 * `/ws/events/:id`: live changes of one event, for its owner and its
 * participants. Closes with 4403 when the caller's access is revoked and
 * 1000 when the event is deleted (see `topic.ts`).
 */
import { Elysia, t } from "elysia";
import { NotFound } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import { type RealtimeSockets, TokenQuery } from "../realtime/sockets.ts";
import { eventAccess } from "./access.ts";
import { EVENTS_TOPIC } from "./topic.ts";

export function eventSocketRoute(deps: { sql: Sql; sockets: RealtimeSockets }) {
	const { sockets } = deps;
	return new Elysia({ name: "herald/events-socket", detail: { tags: ["realtime"] } })
		.use(sockets.plugin)
		.ws("/ws/events/:id", {
			// A stranger learns nothing: a hidden event looks like a missing one.
			socket: async ({ principal, params }) => {
				if ((await eventAccess(deps.sql, params.id!, principal.user.id)) !== "allowed")
					throw new NotFound("event");
			},
			query: TokenQuery,
			params: t.Object({ id: t.String({ format: "uuid" }) }),
			detail: { summary: "WebSocket: live changes of one event (its owner and participants only)" },
			open: (ws) => sockets.open(ws, EVENTS_TOPIC, ws.data.params.id),
			close: (ws) => sockets.close(ws),
		});
}
