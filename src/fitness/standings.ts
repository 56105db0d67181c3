/**
 * Freezing and calculating, in SQL transactions the API and the actor's
 * activities share.
 *
 * - Freeze: one transaction locks the competition, writes the standings
 *   from `competition_scores` (never from Redis) as snapshot version 1 with
 *   the SHA-256 of its canonical JSON, and sets `frozen_at`; syncs for the
 *   window are refused from then on. Idempotent: a frozen competition
 *   returns its latest snapshot.
 * - Re-snapshot (a dispute's exclusion): a new version from the same rows.
 * - Calculate: the latest snapshot's allocation (`prizes.ts`), once per
 *   snapshot; an older calculation still awaiting approval is superseded.
 */
import { createHash } from "node:crypto";
import { Conflict } from "../errors.ts";
import type { Queryable, Sql } from "../infra/db/sql.ts";
import { audit } from "./competitions-repository.ts";
import { allocatePrizes, type Standing } from "./prizes.ts";

export interface Snapshot {
	id: string;
	version: number;
	hash: string;
	standings: Standing[];
}

export interface Calculation {
	id: string;
	competitionId: string;
	snapshotId: string;
	snapshotVersion: number;
	snapshotHash: string;
	status: "awaiting_approval" | "approved" | "superseded" | "completed";
	totalMinor: number;
	currency: string;
	allocations: Array<{
		id: string;
		userId: string;
		rank: number;
		amountMinor: number;
		status: AllocationStatus;
	}>;
}

export type AllocationStatus = "pending" | "submitted" | "confirmed" | "failed";

export const hashStandings = (standings: readonly Standing[]) =>
	createHash("sha256").update(JSON.stringify(standings)).digest("hex");

async function standingsFromSql(tx: Queryable, competitionId: string): Promise<Standing[]> {
	const rows = await tx<
		{ user_id: string; score: number; reached_at: Date; excluded: boolean; flagged: boolean }[]
	>`
		select s.user_id::text, s.score::float8 as score, s.reached_at, s.excluded,
		       exists (
		         select 1 from fitness_records r
		         where r.user_id = s.user_id and not r.deleted and r.flags <> '{}' and r.flags <> '{manual}'
		           and r.started_at < c.ends_at and r.ended_at > c.starts_at
		       ) as flagged
		from competition_scores s join competitions c on c.id = s.competition_id
		where s.competition_id = ${competitionId} and not s.removed
		order by s.score desc, s.reached_at, s.user_id`;
	return rows.map((r) => ({
		userId: r.user_id,
		score: r.score,
		reachedAt: r.reached_at.toISOString(),
		excluded: r.excluded,
		flagged: r.flagged,
	}));
}

async function writeSnapshot(tx: Queryable, competitionId: string, version: number): Promise<Snapshot> {
	const standings = await standingsFromSql(tx, competitionId);
	const hash = hashStandings(standings);
	const [row] = await tx<{ id: string }[]>`
		insert into standings_snapshots (competition_id, version, hash, standings)
		values (${competitionId}, ${version}, ${hash}, ${tx.json(standings as never)}) returning id::text`;
	return { id: row!.id, version, hash, standings };
}

export async function latestSnapshot(tx: Queryable, competitionId: string): Promise<Snapshot | undefined> {
	const [row] = await tx<{ id: string; version: number; hash: string; standings: Standing[] }[]>`
		select id::text, version, hash, standings from standings_snapshots
		where competition_id = ${competitionId} order by version desc limit 1`;
	return row;
}

/** Freezes the competition (idempotent); returns the latest snapshot's id. */
export function freeze(
	sql: Sql,
	competitionId: string,
	actorId: string | null = null,
): Promise<string | undefined> {
	return sql.begin(async (tx) => {
		const [c] = await tx<{ frozen_at: Date | null; status: string }[]>`
			select frozen_at, status from competitions where id = ${competitionId} for update`;
		if (!c || c.status === "cancelled" || c.status === "draft") return undefined;
		if (c.frozen_at) return (await latestSnapshot(tx, competitionId))?.id;
		const snapshot = await writeSnapshot(tx, competitionId, 1);
		await tx`update competitions set frozen_at = now(), status = 'finished' where id = ${competitionId}`;
		await audit(tx, competitionId, actorId, "frozen", { snapshotId: snapshot.id, hash: snapshot.hash });
		return snapshot.id;
	});
}

/** A new snapshot version after the scores changed (a dispute's exclusion), in the caller's transaction. */
export async function resnapshot(
	tx: Queryable,
	competitionId: string,
	actorId: string | null,
): Promise<Snapshot> {
	const latest = await latestSnapshot(tx, competitionId);
	if (!latest) throw new Conflict("the competition is not frozen yet");
	const snapshot = await writeSnapshot(tx, competitionId, latest.version + 1);
	await audit(tx, competitionId, actorId, "resnapshot", {
		snapshotId: snapshot.id,
		version: snapshot.version,
		hash: snapshot.hash,
	});
	return snapshot;
}

/** The latest snapshot's calculation: written once (deterministic), older pending ones superseded. */
export function calculate(sql: Sql, competitionId: string, actorId: string | null): Promise<Calculation> {
	return sql.begin(async (tx) => {
		const [c] = await tx<
			{ prize_pool_minor: number; payout_bps: number[]; currency: string; frozen_at: Date | null }[]
		>`
			select prize_pool_minor::float8 as prize_pool_minor, payout_bps, currency, frozen_at
			from competitions where id = ${competitionId} for update`;
		if (!c?.frozen_at) throw new Conflict("prizes are calculated once the competition is frozen");
		const snapshot = (await latestSnapshot(tx, competitionId))!;
		const [existing] = await tx<
			{ id: string }[]
		>`select id::text from prize_calculations where snapshot_id = ${snapshot.id}`;
		if (existing) return (await loadCalculation(tx, existing.id))!;
		const [paid] =
			await tx`select 1 from prize_calculations where competition_id = ${competitionId} and status in ('approved', 'completed')`;
		if (paid) throw new Conflict("this competition's prizes are already being distributed");
		await tx`update prize_calculations set status = 'superseded' where competition_id = ${competitionId} and status = 'awaiting_approval'`;
		const allocations = allocatePrizes(c.prize_pool_minor, c.payout_bps, snapshot.standings);
		const total = allocations.reduce((a, b) => a + b.amountMinor, 0);
		const [calc] = await tx<{ id: string }[]>`
			insert into prize_calculations (competition_id, snapshot_id, total_minor, currency)
			values (${competitionId}, ${snapshot.id}, ${total}, ${c.currency}) returning id::text`;
		if (allocations.length > 0)
			await tx`insert into prize_allocations ${tx(
				allocations.map((a) => ({
					calculation_id: calc!.id,
					user_id: a.userId,
					rank: a.rank,
					amount_minor: a.amountMinor,
				})),
			)}`;
		await audit(tx, competitionId, actorId, "calculated", {
			calculationId: calc!.id,
			snapshotId: snapshot.id,
			totalMinor: total,
		});
		return (await loadCalculation(tx, calc!.id))!;
	});
}

export async function loadCalculation(tx: Queryable, id: string): Promise<Calculation | undefined> {
	const [row] = await tx<
		{
			id: string;
			competition_id: string;
			snapshot_id: string;
			version: number;
			hash: string;
			status: Calculation["status"];
			total_minor: number;
			currency: string;
		}[]
	>`
		select p.id::text, p.competition_id::text, p.snapshot_id::text, s.version, s.hash, p.status,
		       p.total_minor::float8 as total_minor, p.currency
		from prize_calculations p join standings_snapshots s on s.id = p.snapshot_id where p.id = ${id}`;
	if (!row) return undefined;
	const allocations = await tx<Calculation["allocations"]>`
		select id::text, user_id::text as "userId", rank, amount_minor::float8 as "amountMinor", status
		from prize_allocations where calculation_id = ${id} order by rank, user_id`;
	return {
		id: row.id,
		competitionId: row.competition_id,
		snapshotId: row.snapshot_id,
		snapshotVersion: row.version,
		snapshotHash: row.hash,
		status: row.status,
		totalMinor: row.total_minor,
		currency: row.currency,
		allocations: [...allocations],
	};
}
