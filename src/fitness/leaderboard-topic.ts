/**
 * The `leaderboard` realtime topic (key: a competition id). A sync, join or
 * leave, once its scores are in Redis, NOTIFYs `herald_leaderboard` with the
 * competition id; every API process hears it (Postgres fans it out), so all
 * of them converge on what Redis holds. Per competition, pokes are coalesced:
 * at most one update per `intervalMs` goes to its sockets, read from Redis
 * after the last poke, however many syncs arrived meanwhile.
 */
import type { Topic, TopicContext } from "../realtime/hub.ts";
import { LEADERBOARD_CHANNEL } from "./competitions-service.ts";
import type { BoardEntry, Leaderboards } from "./leaderboard.ts";

export const LEADERBOARD_TOPIC = "leaderboard";
/** The top entries every message carries. */
export const PUSH_LIMIT = 10;

export interface LeaderboardMessage {
	type: "leaderboard_snapshot" | "leaderboard_update";
	competitionId: string;
	total: number;
	entries: BoardEntry[];
}

/** Reads the top of a board (rebuilding a lost one); the socket route's snapshot uses it too. */
export function topReader(deps: { boards: Leaderboards }) {
	const starts = new Map<string, number>();
	return async (ctx: Pick<TopicContext, "sql">, competitionId: string, type: LeaderboardMessage["type"]) => {
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
		const q = { limit: PUSH_LIMIT, around: 0, users: [] };
		let read = await deps.boards.read(competitionId, startsAtMs, q);
		if (!read) {
			await deps.boards.rebuild(ctx.sql, competitionId);
			read = await deps.boards.read(competitionId, startsAtMs, q);
		}
		if (!read) return undefined;
		return { type, competitionId, total: read.total, entries: read.entries } satisfies LeaderboardMessage;
	};
}

export function leaderboardTopic(deps: { boards: Leaderboards; intervalMs: number }): Topic {
	const top = topReader(deps);
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
				const message = await top(ctx, key, "leaderboard_update");
				if (message) ctx.send(key, message);
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
