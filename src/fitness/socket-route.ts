/**
 * `WS /ws/leaderboard/:competition_id`: `{ type: "ready" }`, then a
 * `leaderboard_snapshot` (the top entries, the caller's own entry `me` and its
 * `neighbours`), then `leaderboard_update`s (the same, per socket), at
 * most one per LEADERBOARD_PUSH_INTERVAL_MS. A reader too slow to take them
 * is closed with 4429 once LEADERBOARD_SOCKET_MAX_BUFFERED_BYTES are unsent;
 * it reconnects and gets a fresh snapshot. A draft of another organiser is a
 * 404 before the upgrade, as over REST.
 */
import { Elysia, t } from "elysia";
import { NotFound } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import { type RealtimeSockets, TokenQuery } from "../realtime/sockets.ts";
import type { Leaderboards } from "./leaderboard.ts";
import { boardReader, LEADERBOARD_TOPIC } from "./leaderboard-topic.ts";

export function leaderboardSocketRoute(deps: {
	sql: Sql;
	sockets: RealtimeSockets;
	boards: Leaderboards;
	maxBufferedBytes: number;
}) {
	const { sockets, sql } = deps;
	const read = boardReader(deps);
	return new Elysia({ name: "herald/leaderboard-socket", detail: { tags: ["realtime"] } })
		.use(sockets.plugin)
		.ws("/ws/leaderboard/:competition_id", {
			socket: async ({ principal, params }) => {
				const [c] = await sql<{ status: string; organiser_id: string }[]>`
					select status, organiser_id::text from competitions where id = ${params.competition_id!}`;
				if (!c || (c.status === "draft" && c.organiser_id !== principal.user.id))
					throw new NotFound("competition");
			},
			query: TokenQuery,
			params: t.Object({ competition_id: t.String({ format: "uuid" }) }),
			detail: { summary: "WebSocket: a competition's live leaderboard (snapshot, then coalesced updates)" },
			open: (ws) => {
				const id = ws.data.params.competition_id;
				sockets.open(ws, LEADERBOARD_TOPIC, id, {
					maxBufferedBytes: deps.maxBufferedBytes,
					onReady: (send, userId) => {
						void read({ sql }, id, "leaderboard_snapshot", [userId])
							.then((messages) => {
								const message = messages?.get(userId);
								if (message) send(message);
							})
							.catch(() => ws.close(1011, "snapshot failed"));
					},
				});
			},
			close: (ws) => sockets.close(ws),
		});
}
