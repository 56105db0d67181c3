/**
 * A competition's leaderboard in Redis: versioned absolute writes, one-call
 * reads (a page plus the callers' neighbourhoods) and a rebuild from
 * Postgres into a staging key swapped in atomically, replaying what changed
 * meanwhile. Layout and ordering: `leaderboard-keys.ts`.
 */
import type { Queryable } from "../infra/db/sql.ts";
import type { UpstashRedis } from "../infra/redis/client.ts";
import { compositeScore, decodeComposite, encodeCursor, leaderboardKeys } from "./leaderboard-keys.ts";
import { READ_SCRIPT, SWAP_SCRIPT, WRITE_SCRIPT } from "./leaderboard-scripts.ts";

/** One participant's row as Postgres holds it. */
export interface ScoreRow {
	user_id: string;
	score: number;
	reached_at: Date;
	version: number;
	removed: boolean;
	excluded: boolean;
}

export interface BoardEntry {
	rank: number;
	userId: string;
	score: number;
	reachedAt: string;
}

export interface BoardRead {
	total: number;
	entries: BoardEntry[];
	/** The composite and member of the last entry, when more follow. */
	nextCursor: string | null;
	/** Each asked user's neighbourhood (themselves included), best first; absent when not on the board. */
	around: Map<string, BoardEntry[]>;
}

type RawEntry = [string, string, number];
type RawRead =
	| { built: false }
	| { built: true; total: number; page: RawEntry[] | object; me: Record<string, RawEntry[]> | object };

/** How long a rebuild's replay reaches back before its start: longer than any sync transaction runs. */
const REPLAY_MARGIN_MS = 60_000;
const BATCH = 2000;

const asList = <T>(v: T[] | object): T[] => (Array.isArray(v) ? v : []);

export function createLeaderboards(redis: UpstashRedis) {
	const write = redis.createScript<number>(WRITE_SCRIPT);
	const swap = redis.createScript<number>(SWAP_SCRIPT);
	const read = redis.createScript<RawRead>(READ_SCRIPT);

	const triples = (rows: readonly ScoreRow[], startsAtMs: number) =>
		rows.flatMap((r) => [
			r.user_id,
			r.removed || r.excluded ? "" : String(compositeScore(r.score, r.reached_at.getTime(), startsAtMs)),
			String(r.version),
		]);

	async function writeRows(
		keys: { board: string; versions: string; built: string },
		mode: "live" | "load",
		rows: readonly ScoreRow[],
		startsAtMs: number,
	) {
		let changed = 0;
		for (let i = 0; i < rows.length; i += BATCH) {
			const n = await write.exec(
				[keys.board, keys.versions, keys.built],
				[mode, ...triples(rows.slice(i, i + BATCH), startsAtMs)],
			);
			if (n < 0) return -1;
			changed += n;
		}
		return changed;
	}

	const toEntry = ([member, composite, rank]: RawEntry, startsAtMs: number): BoardEntry => {
		const { score, reachedAtMs } = decodeComposite(Number(composite), startsAtMs);
		return { rank, userId: member, score, reachedAt: new Date(reachedAtMs).toISOString() };
	};

	return {
		/** Applies rows (newer versions only); -1 when the board is not built (the next read rebuilds it). */
		apply: (competitionId: string, startsAtMs: number, rows: readonly ScoreRow[]) =>
			rows.length === 0
				? Promise.resolve(0)
				: writeRows(leaderboardKeys(competitionId), "live", rows, startsAtMs),

		/** An empty board for a new competition (built: nothing to rebuild). */
		async create(competitionId: string): Promise<void> {
			await redis.set(leaderboardKeys(competitionId).built, "1");
		},

		async remove(competitionId: string): Promise<void> {
			const k = leaderboardKeys(competitionId);
			await redis.del(k.board, k.versions, k.built);
		},

		/**
		 * Rebuilds from Postgres: every row into a staging board, swapped in by one
		 * script (RENAME is atomic), then every row changed since shortly before the
		 * rebuild began is written again with its version, so a sync that landed on
		 * the old board meanwhile is not lost.
		 */
		async rebuild(sql: Queryable, competitionId: string): Promise<number> {
			const [start] = await sql<{ now: Date; starts_at: Date }[]>`
				select now(), starts_at from competitions where id = ${competitionId}`;
			const k = leaderboardKeys(competitionId);
			if (!start) {
				await redis.del(k.board, k.versions, k.built);
				return 0;
			}
			const startsAtMs = start.starts_at.getTime();
			const staging = k.staging(crypto.randomUUID());
			const rows = await scoreRows(sql, competitionId);
			await writeRows({ ...staging, built: "" }, "load", rows, startsAtMs);
			await swap.exec([staging.board, staging.versions, k.board, k.versions, k.built], []);
			const since = new Date(start.now.getTime() - REPLAY_MARGIN_MS);
			await writeRows(k, "live", await scoreRows(sql, competitionId, since), startsAtMs);
			return rows.filter((r) => !r.removed && !r.excluded).length;
		},

		/** A page (top, or after `cursor`) and the neighbourhoods of `users`, in one call; undefined: not built. */
		async read(
			competitionId: string,
			startsAtMs: number,
			q: {
				limit: number;
				cursor?: { composite: string; member: string };
				around: number;
				users: readonly string[];
			},
		): Promise<BoardRead | undefined> {
			const k = leaderboardKeys(competitionId);
			const raw = await read.exec(
				[k.board, k.built],
				[String(q.limit), q.cursor?.composite ?? "", q.cursor?.member ?? "", String(q.around), ...q.users],
			);
			if (!raw.built) return undefined;
			const page = asList(raw.page);
			const more = page.length > q.limit;
			const shown = page.slice(0, q.limit);
			const last = shown.at(-1);
			const around = new Map<string, BoardEntry[]>();
			for (const [user, list] of Object.entries(raw.me as Record<string, RawEntry[]>))
				around.set(
					user,
					asList(list).map((e) => toEntry(e, startsAtMs)),
				);
			return {
				total: raw.total,
				entries: shown.map((e) => toEntry(e, startsAtMs)),
				nextCursor: more && last ? encodeCursor(last[1], last[0]) : null,
				around,
			};
		},
	};
}

export type Leaderboards = ReturnType<typeof createLeaderboards>;

/** A competition's score rows (those changed since `since`, when given). */
export function scoreRows(sql: Queryable, competitionId: string, since?: Date): Promise<ScoreRow[]> {
	return sql<ScoreRow[]>`
		select user_id::text, score::float8 as score, reached_at, version::float8 as version, removed, excluded
		from competition_scores
		where competition_id = ${competitionId} ${since ? sql`and updated_at >= ${since}` : sql``}
		order by user_id`;
}
