/**
 * A participant's score, recomputed from their records (never incremented):
 * the one function the sync, a join and a rebuild's source rows share.
 */
import type { Queryable } from "../infra/db/sql.ts";
import type { ScoreRow } from "./leaderboard.ts";
import type { Metric } from "./model.ts";
import { MAX_SCORE } from "./model.ts";
import { scoreRecords } from "./scoring.ts";

export interface ScoredCompetition {
	id: string;
	metric: Metric;
	starts_at: Date;
	ends_at: Date;
}

/**
 * When a score is reached: now, in whole seconds, and never before the
 * competition's start (everyone who joins early has reached 0 at the start),
 * so the leaderboard's composite score orders exactly as SQL does.
 */
export const reachedNow = (tx: Queryable, startsAt: Date) =>
	tx`greatest(date_trunc('second', now()), date_trunc('second', ${startsAt}::timestamptz))`;

/** The user's counted records in the window, scored by the overlap rule. */
export async function computeScore(tx: Queryable, c: ScoredCompetition, userId: string): Promise<number> {
	const rows = await tx<{ source: string; started_at: Date; ended_at: Date; value: number }[]>`
		select source, started_at, ended_at, ${tx(c.metric)}::float8 as value
		from fitness_records
		where user_id = ${userId} and not deleted and cardinality(flags) = 0
		  and started_at < ${c.ends_at} and ended_at > ${c.starts_at}`;
	const score = scoreRecords(
		rows.map((r) => ({
			source: r.source,
			startedAtMs: r.started_at.getTime(),
			endedAtMs: r.ended_at.getTime(),
			value: r.value,
		})),
		c.starts_at.getTime(),
		c.ends_at.getTime(),
	);
	return Math.min(score, MAX_SCORE);
}

/**
 * Locks the participant's score row, recomputes it and writes it when it
 * changed (a new version, reached now). Returns the row as it stands.
 */
export async function refreshScore(
	tx: Queryable,
	c: ScoredCompetition,
	userId: string,
): Promise<ScoreRow | undefined> {
	const [current] = await tx<{ score: number; removed: boolean }[]>`
		select score::float8 as score, removed from competition_scores
		where competition_id = ${c.id} and user_id = ${userId} for update`;
	if (!current || current.removed) return undefined;
	const score = await computeScore(tx, c, userId);
	if (score === current.score) return undefined;
	const [row] = await tx<ScoreRow[]>`
		update competition_scores
		set score = ${score}, version = version + 1, reached_at = ${reachedNow(tx, c.starts_at)}
		where competition_id = ${c.id} and user_id = ${userId}
		returning user_id::text, score::float8 as score, reached_at, version::float8 as version, removed, excluded`;
	return row;
}
