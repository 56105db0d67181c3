/**
 * `POST /api/v1/fitness/sync`: a batch of activity records, idempotent.
 *
 * - Upsert on (user, source, externalId); only a newer `version` replaces a
 *   stored record (same version: "unchanged", older: "stale"); a deletion is
 *   kept as a tombstone so a replayed older version cannot revive it.
 * - Each item is checked on its own (end after start, not more than the
 *   tolerance in the future, not in the window of a frozen competition) and
 *   gets its own outcome; implausible and manual records are stored with
 *   `flags` and never counted. A batch whose every item hits a frozen
 *   competition is a 409.
 * - In the same transaction, every running competition of the user whose
 *   window a changed record touches (old or new interval) recomputes the
 *   user's score from all their records (`scores.ts`); after the commit the
 *   new scores go to Redis with their versions. Replaying a batch changes
 *   nothing: no record is newer, no score moves.
 */
import { Conflict } from "../errors.ts";
import type { Queryable, Sql } from "../infra/db/sql.ts";
import type { CompetitionService } from "./competitions-service.ts";
import type { ScoreRow } from "./leaderboard.ts";
import type { Kind, Metric, Outcome } from "./model.ts";
import { refreshScore } from "./scores.ts";
import { plausibilityFlags } from "./scoring.ts";
import { checkInterval, flagDailySteps, offsetMinutes } from "./sync-checks.ts";

export interface SyncItemInput {
	source: string;
	externalId: string;
	version?: number;
	kind?: Kind;
	manual?: boolean;
	deleted?: boolean;
	startedAt: string;
	endedAt: string;
	steps?: number;
	distanceM?: number;
	activeMinutes?: number;
	calories?: number;
}

export interface ItemResult {
	index: number;
	source: string;
	externalId: string;
	outcome: Outcome;
	flags: string[];
	error?: { code: string; message: string };
}

export interface Prepared {
	index: number;
	item: SyncItemInput;
	startedAt: Date;
	endedAt: Date;
	flags: string[];
}

interface Existing {
	source: string;
	external_id: string;
	version: number;
	started_at: Date;
	ended_at: Date;
}

interface LiveCompetition {
	id: string;
	metric: Metric;
	starts_at: Date;
	ends_at: Date;
	time_zone: string;
	frozen: boolean;
}

const keyOf = (source: string, externalId: string) => `${source}\u0000${externalId}`;
const overlaps = (c: LiveCompetition, from: Date, to: Date) => from < c.ends_at && to > c.starts_at;

export function createSyncService(deps: {
	sql: Sql;
	competitions: CompetitionService;
	futureToleranceMs: number;
}) {
	const { sql } = deps;

	function prepare(items: readonly SyncItemInput[], nowMs: number, results: ItemResult[]): Prepared[] {
		const prepared: Prepared[] = [];
		items.forEach((item, index) => {
			const startedAt = new Date(item.startedAt);
			const endedAt = new Date(item.endedAt);
			const problem = checkInterval(startedAt, endedAt, nowMs + deps.futureToleranceMs);
			if (problem) {
				const [code, message] = problem;
				results.push({
					index,
					source: item.source,
					externalId: item.externalId,
					flags: [],
					outcome: "rejected",
					error: { code, message },
				});
				return;
			}
			const flags = plausibilityFlags({
				kind: item.kind ?? "other",
				manual: item.manual ?? false,
				startedAtMs: startedAt.getTime(),
				endedAtMs: endedAt.getTime(),
				steps: item.steps ?? 0,
				distanceM: item.distanceM ?? 0,
			});
			prepared.push({ index, item, startedAt, endedAt, flags });
		});
		return prepared;
	}

	return {
		async sync(userId: string, items: readonly SyncItemInput[]) {
			const results: ItemResult[] = [];
			const prepared = prepare(items, Date.now(), results);
			const published: Array<{ c: LiveCompetition; row: ScoreRow }> = [];
			const scores = await sql.begin(async (tx) => {
				// One user's syncs in order: the daily step cap and the per-item outcomes read what
				// the user's other records are, so two batches at once must not both pass unseen.
				await tx`select herald_order_lock(${`fitness-sync:${userId}`})`;
				const live = await liveCompetitions(tx, userId);
				const frozen = live.filter((c) => c.frozen);
				const accepted: Prepared[] = [];
				for (const p of prepared) {
					if (frozen.some((c) => overlaps(c, p.startedAt, p.endedAt)))
						results.push({
							index: p.index,
							source: p.item.source,
							externalId: p.item.externalId,
							outcome: "rejected",
							flags: p.flags,
							error: {
								code: "competition_frozen",
								message: "a competition this record counts for is frozen",
							},
						});
					else accepted.push(p);
				}
				if (accepted.length === 0 && results.every((r) => r.error?.code === "competition_frozen"))
					throw new Conflict("the competitions these records count for are frozen");
				const { touched, written } = await upsert(tx, userId, accepted, results);
				await flagDailySteps(
					tx,
					userId,
					written,
					results,
					live.filter((c) => !c.frozen),
				);
				const affected = live.filter((c) => !c.frozen && touched.some(([from, to]) => overlaps(c, from, to)));
				for (const c of affected.sort((a, b) => (a.id < b.id ? -1 : 1))) {
					const row = await refreshScore(tx, c, userId);
					if (row) published.push({ c, row });
				}
				return currentScores(
					tx,
					userId,
					affected.map((c) => c.id),
				);
			});
			for (const { c, row } of published) await deps.competitions.publish(c.id, c.starts_at, [row]);
			return { items: results.sort((a, b) => a.index - b.index), scores };
		},
	};
}

/**
 * The user's competitions that still take data: running, or finished within the grace period.
 * Share-locked until commit: a freeze (which takes the row for update) waits for this sync's
 * scores, and a sync behind a freeze re-reads the row and sees it frozen.
 */
function liveCompetitions(tx: Queryable, userId: string): Promise<LiveCompetition[]> {
	return tx<LiveCompetition[]>`
		select c.id::text, c.metric, c.starts_at, c.ends_at, c.time_zone, c.frozen_at is not null as frozen
		from competitions c join competition_participants p on p.competition_id = c.id and p.user_id = ${userId}
		where c.status in ('open', 'running', 'finished', 'distributing', 'settled')
		order by c.id for share of c`;
}

/** Writes the accepted items; returns the intervals (old and new) of every record that changed. */
async function upsert(
	tx: Queryable,
	userId: string,
	accepted: Prepared[],
	results: ItemResult[],
): Promise<{ touched: Array<[Date, Date]>; written: Prepared[] }> {
	// One item per key: the highest version (the later one on a tie) stands for the batch.
	const byKey = new Map<string, Prepared>();
	for (const p of accepted) {
		const key = keyOf(p.item.source, p.item.externalId);
		const other = byKey.get(key);
		if (other && (other.item.version ?? 0) > (p.item.version ?? 0)) {
			results.push(outcome(p, "stale"));
			continue;
		}
		if (other)
			results.push(outcome(other, (other.item.version ?? 0) < (p.item.version ?? 0) ? "stale" : "unchanged"));
		byKey.set(key, p);
	}
	const chosen = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, p]) => p);
	if (chosen.length === 0) return { touched: [], written: [] };
	const existing = new Map(
		(
			await tx<Existing[]>`
				select source, external_id, version::float8 as version, started_at, ended_at from fitness_records
				where user_id = ${userId}
				  and (source, external_id) in (
				    select * from unnest(${chosen.map((p) => p.item.source)}::text[], ${chosen.map((p) => p.item.externalId)}::text[]))
				order by source, external_id
				for update`
		).map((e) => [keyOf(e.source, e.external_id), e]),
	);
	const touched: Array<[Date, Date]> = [];
	const written: Prepared[] = [];
	const writes: Record<string, unknown>[] = [];
	for (const p of chosen) {
		const old = existing.get(keyOf(p.item.source, p.item.externalId));
		const version = p.item.version ?? 0;
		if (old && old.version >= version) {
			results.push(outcome(p, old.version === version ? "unchanged" : "stale"));
			continue;
		}
		if (old) touched.push([old.started_at, old.ended_at]);
		touched.push([p.startedAt, p.endedAt]);
		results.push(outcome(p, p.item.deleted ? "deleted" : old ? "updated" : "created"));
		written.push(p);
		writes.push({
			user_id: userId,
			source: p.item.source,
			external_id: p.item.externalId,
			version,
			kind: p.item.kind ?? "other",
			manual: p.item.manual ?? false,
			deleted: p.item.deleted ?? false,
			started_at: p.startedAt,
			ended_at: p.endedAt,
			start_offset_minutes: offsetMinutes(p.item.startedAt),
			end_offset_minutes: offsetMinutes(p.item.endedAt),
			steps: p.item.steps ?? 0,
			distance_m: p.item.distanceM ?? 0,
			active_minutes: p.item.activeMinutes ?? 0,
			calories: p.item.calories ?? 0,
			flags: p.flags,
		});
	}
	if (writes.length > 0)
		await tx`
			insert into fitness_records ${tx(writes)}
			on conflict (user_id, source, external_id) do update set
				version = excluded.version, kind = excluded.kind, manual = excluded.manual, deleted = excluded.deleted,
				started_at = excluded.started_at, ended_at = excluded.ended_at,
				start_offset_minutes = excluded.start_offset_minutes, end_offset_minutes = excluded.end_offset_minutes,
				steps = excluded.steps, distance_m = excluded.distance_m, active_minutes = excluded.active_minutes,
				calories = excluded.calories, flags = excluded.flags
			where fitness_records.version < excluded.version`;
	return { touched, written };
}

function outcome(p: Prepared, o: Outcome): ItemResult {
	return { index: p.index, source: p.item.source, externalId: p.item.externalId, outcome: o, flags: p.flags };
}

async function currentScores(
	tx: Queryable,
	userId: string,
	ids: string[],
): Promise<Array<{ competitionId: string; score: number }>> {
	if (ids.length === 0) return [];
	const rows = await tx<{ competitionId: string; score: number }[]>`
		select competition_id::text as "competitionId", score::int as score from competition_scores
		where user_id = ${userId} and competition_id in ${tx(ids)} and not removed
		order by competition_id`;
	return [...rows];
}
