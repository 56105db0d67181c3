/**
 * `GET /api/v1/leaderboard/:competition_id` behind a short in-process cache.
 *
 * Reads of one page (competition, limit, cursor, around) that arrive
 * together share ONE Redis call: the first opens a batch, every caller in
 * the next millisecond adds its user id, and one script run returns the page
 * plus each caller's neighbourhood. Results are kept `cacheMs`, so a burst
 * of reads costs Redis a handful of calls. A board Redis lost (or never
 * built) is rebuilt from Postgres once (single flight) and read again.
 */
import { Forbidden, Invalid, NotFound } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import type { BoardEntry, BoardRead, Leaderboards } from "./leaderboard.ts";
import { decodeCursor } from "./leaderboard-keys.ts";
import type { CompetitionStatus } from "./model.ts";

export interface LeaderboardPage {
	competitionId: string;
	status: CompetitionStatus;
	total: number;
	entries: BoardEntry[];
	nextCursor: string | null;
	me: BoardEntry | null;
	neighbours: BoardEntry[];
}

interface Meta {
	status: CompetitionStatus;
	organiserId: string;
	startsAtMs: number;
}

interface Batch {
	users: Set<string>;
	result: Promise<BoardRead>;
}

interface Cached {
	at: number;
	read: BoardRead;
	/** `"total":…,"entries":[…],"nextCursor":…`, serialised once per cached page. */
	json?: string;
}

interface Own {
	at: number;
	entries: BoardEntry[];
	/** `"me":…,"neighbours":[…]`, serialised once per cached neighbourhood. */
	json?: string;
}

/** Exactly the response schema's fields (the serialised path skips Elysia's response cleaning). */
const entry = (e: BoardEntry) => ({ rank: e.rank, userId: e.userId, score: e.score, reachedAt: e.reachedAt });

export function createLeaderboardService(deps: { sql: Sql; boards: Leaderboards; cacheMs: number }) {
	const { sql, boards, cacheMs } = deps;
	const metas = new Map<string, { at: number; meta: Promise<Meta | undefined> }>();
	const pages = new Map<string, Cached>();
	const mine = new Map<string, Own>();
	const batches = new Map<string, Batch>();
	const rebuilds = new Map<string, Promise<unknown>>();
	const fresh = (at: number) => performance.now() - at < cacheMs;

	function meta(competitionId: string): Promise<Meta | undefined> {
		const hit = metas.get(competitionId);
		if (hit && fresh(hit.at)) return hit.meta;
		const loading = sql<{ status: CompetitionStatus; organiser_id: string; starts_at: Date }[]>`
			select status, organiser_id::text, starts_at from competitions where id = ${competitionId}`.then(
			([row]) =>
				row
					? { status: row.status, organiserId: row.organiser_id, startsAtMs: row.starts_at.getTime() }
					: undefined,
		);
		metas.set(competitionId, { at: performance.now(), meta: loading });
		loading.catch(() => metas.delete(competitionId));
		return loading;
	}

	function rebuild(competitionId: string): Promise<unknown> {
		let running = rebuilds.get(competitionId);
		if (!running) {
			running = boards.rebuild(sql, competitionId).finally(() => rebuilds.delete(competitionId));
			rebuilds.set(competitionId, running);
		}
		return running;
	}

	async function fetch(competitionId: string, m: Meta, q: Query, users: string[]): Promise<BoardRead> {
		for (let attempt = 0; ; attempt++) {
			const read = await boards.read(competitionId, m.startsAtMs, { ...q, users });
			if (read) return read;
			if (attempt > 0) throw new Error(`leaderboard ${competitionId} is not built after a rebuild`);
			await rebuild(competitionId);
		}
	}

	function batched(
		pageKey: string,
		competitionId: string,
		m: Meta,
		q: Query,
		userId: string,
	): Promise<BoardRead> {
		const open = batches.get(pageKey);
		if (open) {
			open.users.add(userId);
			return open.result;
		}
		const users = new Set([userId]);
		const result = new Promise<void>((resolve) => setTimeout(resolve, 1)).then(() => {
			batches.delete(pageKey);
			return fetch(competitionId, m, q, [...users]);
		});
		batches.set(pageKey, { users, result });
		return result.then((read) => {
			const at = performance.now();
			pages.set(pageKey, { at, read });
			for (const u of users)
				mine.set(`${competitionId}|${q.around}|${u}`, { at, entries: read.around.get(u) ?? [] });
			return read;
		});
	}

	/**
	 * Visibility first (a draft is its organiser's alone: 404 for anyone else, from the cached
	 * competition row, so a hit asks Postgres nothing), then the cached page and the caller's
	 * neighbourhood, or one batched Redis call for both.
	 */
	async function lookup(
		competitionId: string,
		userId: string,
		query: { limit?: number; cursor?: string; around?: number },
	): Promise<{ m: Meta; page: Cached; own: Own }> {
		const m = await meta(competitionId);
		if (!m || (m.status === "draft" && m.organiserId !== userId)) throw new NotFound("competition");
		const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
		if (query.cursor !== undefined && !cursor) throw new Invalid("invalid cursor", { field: "cursor" });
		const q: Query = { limit: query.limit ?? 10, cursor, around: query.around ?? 2 };
		const pageKey = `${competitionId}|${q.limit}|${query.cursor ?? ""}|${q.around}`;
		const ownKey = `${competitionId}|${q.around}|${userId}`;
		const page = pages.get(pageKey);
		const own = mine.get(ownKey);
		if (page && fresh(page.at) && own && fresh(own.at)) return { m, page, own };
		if (pages.size > 10_000) pages.clear();
		if (mine.size > 100_000) mine.clear();
		const read = await batched(pageKey, competitionId, m, q, userId);
		const stored = pages.get(pageKey);
		const storedOwn = mine.get(ownKey);
		return {
			m,
			page: stored?.read === read ? stored : { at: 0, read },
			own: storedOwn && stored?.read === read ? storedOwn : { at: 0, entries: read.around.get(userId) ?? [] },
		};
	}

	return {
		/** Rebuilds the board (single flight); the organiser's or an administrator's to ask. */
		async rebuild(competitionId: string, userId: string, admin: boolean): Promise<{ members: number }> {
			const m = await meta(competitionId);
			if (!m || (m.status === "draft" && m.organiserId !== userId && !admin))
				throw new NotFound("competition");
			if (m.organiserId !== userId && !admin)
				throw new Forbidden("only the organiser or an administrator rebuilds");
			await rebuild(competitionId);
			pages.clear();
			mine.clear();
			const [row] = await sql<{ n: number }[]>`
				select count(*)::int as n from competition_scores
				where competition_id = ${competitionId} and not removed and not excluded`;
			return { members: row!.n };
		},

		/**
		 * The page as its JSON text: a cache hit concatenates the page's and the
		 * caller's serialised parts (no schema walk, no JSON.stringify per request).
		 */
		async readJson(
			competitionId: string,
			userId: string,
			query: { limit?: number; cursor?: string; around?: number },
		): Promise<string> {
			const { m, page, own } = await lookup(competitionId, userId, query);
			page.json ??= JSON.stringify({
				total: page.read.total,
				entries: page.read.entries.map(entry),
				nextCursor: page.read.nextCursor,
			}).slice(1, -1);
			if (own.json === undefined) {
				const me = own.entries.find((e) => e.userId === userId);
				own.json = `"me":${JSON.stringify(me ? entry(me) : null)},"neighbours":${JSON.stringify(own.entries.map(entry))}`;
			}
			return `{"competitionId":${JSON.stringify(competitionId)},"status":${JSON.stringify(m.status)},${page.json},${own.json}}`;
		},

		async read(
			competitionId: string,
			userId: string,
			query: { limit?: number; cursor?: string; around?: number },
		): Promise<LeaderboardPage> {
			const { m, page, own } = await lookup(competitionId, userId, query);
			return {
				competitionId,
				status: m.status,
				total: page.read.total,
				entries: page.read.entries,
				nextCursor: page.read.nextCursor,
				me: own.entries.find((e) => e.userId === userId) ?? null,
				neighbours: own.entries,
			};
		},
	};
}

interface Query {
	limit: number;
	cursor?: { composite: string; member: string };
	around: number;
}

export type LeaderboardService = ReturnType<typeof createLeaderboardService>;
