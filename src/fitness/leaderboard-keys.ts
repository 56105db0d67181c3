/**
 * How a leaderboard lives in Redis, in pure functions (workflows and tests
 * share them).
 *
 * One sorted set per competition, ascending by a composite score that stays
 * an exact integer below 2^53: `-score · 2^25 + elapsed`, where `elapsed` is
 * the whole seconds from the competition's start to when the participant
 * reached their score (clamped to [0, 2^25): 388 days; competitions last at
 * most 366 days plus the grace period). Ascending order is then score
 * descending, then who reached it first, then (Redis orders equal scores by
 * member) user id: the SQL `ORDER BY score DESC, reached_at, user_id`.
 * Scores are written absolute (never ZINCRBY), each with the row's version,
 * so a retried or late write never counts twice nor overwrites a newer one.
 */

export const ELAPSED_BITS = 25;
const SHIFT = 2 ** ELAPSED_BITS;
export const MAX_ELAPSED = SHIFT - 1;

export const leaderboardKeys = (competitionId: string) => ({
	/** The sorted set: member = user id, score = composite. */
	board: `herald:lb:{${competitionId}}`,
	/** member → version of the row its score came from (removed members too). */
	versions: `herald:lb:{${competitionId}}:v`,
	/** Present once the board was built from Postgres: a board without it is rebuilt before use. */
	built: `herald:lb:{${competitionId}}:built`,
	staging: (token: string) => ({
		board: `herald:lb:{${competitionId}}:staging:${token}`,
		versions: `herald:lb:{${competitionId}}:staging:${token}:v`,
	}),
});

/** Whole seconds: reached_at is stored truncated to the second, the start is truncated here. */
const second = (ms: number) => Math.floor(ms / 1000) * 1000;

export function compositeScore(score: number, reachedAtMs: number, startsAtMs: number): number {
	const elapsed = Math.min(MAX_ELAPSED, Math.max(0, Math.floor((reachedAtMs - second(startsAtMs)) / 1000)));
	return -score * SHIFT + elapsed;
}

export function decodeComposite(
	composite: number,
	startsAtMs: number,
): { score: number; reachedAtMs: number } {
	const score = Math.max(0, Math.ceil(-composite / SHIFT));
	const elapsed = composite + score * SHIFT;
	return { score, reachedAtMs: second(startsAtMs) + elapsed * 1000 };
}

/** A keyset cursor: the last entry's composite score and member, opaque to clients. */
export const encodeCursor = (composite: string, member: string): string =>
	Buffer.from(`${composite}|${member}`).toString("base64url");

export function decodeCursor(cursor: string): { composite: string; member: string } | undefined {
	const text = Buffer.from(cursor, "base64url").toString("utf8");
	const match = /^(-?\d{1,16})\|([0-9a-f-]{36})$/.exec(text);
	return match ? { composite: match[1]!, member: match[2]! } : undefined;
}
