/** `/ws/notifications`: the caller's new notifications, as they are created. */
import { Elysia } from "elysia";
import { type RealtimeSockets, TokenQuery } from "../realtime/sockets.ts";
import { NOTIFICATIONS_TOPIC } from "./topic.ts";

export function notificationSocketRoute(deps: { sockets: RealtimeSockets }) {
	const { sockets } = deps;
	return new Elysia({ name: "herald/notifications-socket", detail: { tags: ["realtime"] } })
		.use(sockets.plugin)
		.ws("/ws/notifications", {
			socket: true,
			query: TokenQuery,
			detail: { summary: "WebSocket: the caller's new notifications, as they are created" },
			open: (ws) => sockets.open(ws, NOTIFICATIONS_TOPIC, ws.data.principal.user.id),
			close: (ws) => sockets.close(ws),
		});
}
