/**
 * The `leaderboard` realtime topic (key: a competition id). A sync, join or
 * leave, once its scores are in Redis, NOTIFYs `herald_leaderboard` with the
 * competition id; every API process hears it (Postgres fans it out), so all
 * of them converge on what Redis holds. Per competition, pokes are coalesced:
 * at most one update per `intervalMs` goes to its sockets, read from Redis
 * after the last poke, however many syncs arrived meanwhile. Each socket gets
 * the top entries with its own user's rank and neighbours, all read in one
 * script run per tick (not one per socket).
 */
import type { Topic, TopicContext } from "../realtime/hub.ts";
import { LEADERBOARD_CHANNEL } from "./competitions-service.ts";
import type { BoardEntry, Leaderboards } from "./leaderboard.ts";

export const LEADERBOARD_TOPIC = "leaderboard";
/** The top entries every message carries. */
export const PUSH_LIMIT = 10;
/** Neighbours on each side of the socket's user in every message. */
export const PUSH_AROUND = 2;
/** Users whose neighbourhoods one script run reads (a tick with more watchers takes more runs). */
const USERS_PER_CALL = 5000;

export interface LeaderboardMessage {
	type: "leaderboard_snapshot" | "leaderboard_update";
	competitionId: string;
	total: number;
	entries: BoardEntry[];
	/** The socket's user's own entry: null when not on the board. */
	me: BoardEntry | null;
	/** The socket's user's neighbours (and the user), best first. */
	neighbours: BoardEntry[];
}

/**
 * Reads the top of a board and the neighbourhoods of `users` (rebuilding a
 * lost board) in one script run per USERS_PER_CALL users; returns one message
 * per user. The socket route's snapshot uses it too.
 */
export function boardReader(deps: { boards: Leaderboards }) {
	const starts = new Map<string, number>();
	return async (
		ctx: Pick<TopicContext, "sql">,
		competitionId: string,
		type: LeaderboardMessage["type"],
		users: readonly string[],
	): Promise<Map<string, LeaderboardMessage> | undefined> => {
		let startsAtMs = starts.get(competitionId);
		if (startsAtMs === undefined) {
			const [row] = await ctx.sql<
				{ starts_at: Date }[]
			>`select starts_at from competitions where id = ${competitionId}`;
			if (!row) return undefined;
			startsAtMs = row.starts_at.getTime();
			if (starts.size > 10_000) starts.clear();
			starts.set(competitionId, startsAtMs);
		}
		const messages = new Map<string, LeaderboardMessage>();
		for (let i = 0; i === 0 || i < users.length; i += USERS_PER_CALL) {
			const q = { limit: PUSH_LIMIT, around: PUSH_AROUND, users: users.slice(i, i + USERS_PER_CALL) };
			let read = await deps.boards.read(competitionId, startsAtMs, q);
			if (!read) {
				await deps.boards.rebuild(ctx.sql, competitionId);
				read = await deps.boards.read(competitionId, startsAtMs, q);
			}
			if (!read) return undefined;
			for (const user of q.users) {
				const neighbours = read.around.get(user) ?? [];
				messages.set(user, {
					type,
					competitionId,
					total: read.total,
					entries: read.entries,
					me: neighbours.find((e) => e.userId === user) ?? null,
					neighbours,
				});
			}
		}
		return messages;
	};
}

export function leaderboardTopic(deps: { boards: Leaderboards; intervalMs: number }): Topic {
	const read = boardReader(deps);
	const state = new Map<string, { timer?: ReturnType<typeof setTimeout>; lastAt: number }>();

	function schedule(key: string, ctx: TopicContext): void {
		const s = state.get(key) ?? { lastAt: 0 };
		state.set(key, s);
		if (s.timer) return; // already due: that push reads Redis after this poke
		const wait = Math.max(0, s.lastAt + deps.intervalMs - performance.now());
		s.timer = setTimeout(async () => {
			s.lastAt = performance.now();
			s.timer = undefined;
			if (!ctx.has(key)) {
				state.delete(key);
				return;
			}
			try {
				// One read for every watcher of this competition: the top page and each one's neighbourhood.
				const messages = await read(ctx, key, "leaderboard_update", ctx.watchers(key));
				if (messages) ctx.sendEach(key, (userId) => messages.get(userId));
			} catch (error) {
				ctx.log.warn("leaderboard push failed", { competitionId: key, error });
			}
		}, wait);
	}

	return {
		name: LEADERBOARD_TOPIC,
		channels: [LEADERBOARD_CHANNEL],
		onNotify(_channel, competitionId, ctx) {
			if (ctx.has(competitionId)) schedule(competitionId, ctx);
		},
	};
}
