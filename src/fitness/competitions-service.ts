/**
 * Competitions: CRUD for organisers, join and leave for everyone. A draft is
 * the organiser's alone (another user gets 404, as for a missing one); the
 * rest see a published competition as a participant would. Dates and the
 * prize table change only while it is a draft; the prize pool until it ends.
 */
import { Conflict, Forbidden, Invalid, NotFound } from "../errors.ts";
import type { Queryable, Sql } from "../infra/db/sql.ts";
import {
	audit,
	type CompetitionFields,
	type CompetitionRow,
	deleteCompetition,
	findCompetition,
	insertCompetition,
	listCompetitions,
	updateCompetition,
} from "./competitions-repository.ts";
import type { Leaderboards, ScoreRow } from "./leaderboard.ts";
import type { CompetitionStatus, Metric } from "./model.ts";
import { computeScore, reachedNow } from "./scores.ts";

/** NOTIFY channel: a competition's leaderboard changed (payload: its id). */
export const LEADERBOARD_CHANNEL = "herald_leaderboard";

export interface CompetitionView {
	id: string;
	organiserId: string;
	name: string;
	description: string;
	metric: Metric;
	timeZone: string;
	startsAt: string;
	endsAt: string;
	maxParticipants: number | null;
	prizePoolMinor: number;
	currency: string;
	payoutBps: number[];
	status: CompetitionStatus;
	frozenAt: string | null;
	participants: number;
	joined: boolean;
	createdAt: string;
}

export const toCompetitionView = (c: CompetitionRow): CompetitionView => ({
	id: c.id,
	organiserId: c.organiser_id,
	name: c.name,
	description: c.description,
	metric: c.metric,
	timeZone: c.time_zone,
	startsAt: c.starts_at.toISOString(),
	endsAt: c.ends_at.toISOString(),
	maxParticipants: c.max_participants,
	prizePoolMinor: c.prize_pool_minor,
	currency: c.currency,
	payoutBps: c.payout_bps,
	status: c.status,
	frozenAt: c.frozen_at?.toISOString() ?? null,
	participants: c.participants,
	joined: c.joined,
	createdAt: c.created_at.toISOString(),
});

export interface CreateInput {
	name: string;
	description?: string;
	metric: Metric;
	timeZone: string;
	startsAt: string;
	endsAt: string;
	maxParticipants?: number;
	prizePoolMinor?: number;
	currency?: string;
	payoutBps?: number[];
}

export interface UpdateInput {
	name?: string;
	description?: string;
	status?: "open" | "cancelled";
	startsAt?: string;
	endsAt?: string;
	maxParticipants?: number | null;
	prizePoolMinor?: number;
	payoutBps?: number[];
}

const MAX_DAYS_MS = 366 * 86_400_000;

function validZone(zone: string): boolean {
	try {
		new Intl.DateTimeFormat("en", { timeZone: zone });
		return true;
	} catch {
		return false;
	}
}

function checkWindow(startsAt: Date, endsAt: Date): void {
	if (!(endsAt > startsAt)) throw new Invalid("endsAt must be after startsAt", { field: "endsAt" });
	if (endsAt.getTime() - startsAt.getTime() > MAX_DAYS_MS)
		throw new Invalid("a competition lasts at most 366 days", { field: "endsAt" });
	if (endsAt.getTime() <= Date.now()) throw new Invalid("endsAt is in the past", { field: "endsAt" });
}

function checkPayout(bps: number[] | undefined): void {
	if (!bps || bps.length === 0) return;
	if (bps.reduce((a, b) => a + b, 0) !== 10_000)
		throw new Invalid("payoutBps must sum to 10000 (100 %)", { field: "payoutBps" });
}

/** Whether the organiser removed `userId` from the competition (the audit is the record). */
async function removedByOrganiser(tx: Queryable, competitionId: string, userId: string): Promise<boolean> {
	const [row] = await tx<{ removed: boolean }[]>`
		select exists (
		  select 1 from competition_audit
		  where competition_id = ${competitionId} and action = 'participant_removed' and details->>'userId' = ${userId}
		) as removed`;
	return row!.removed;
}

/** Whether `viewer` may see `c` at all (a draft is its organiser's alone). */
export const visibleTo = (c: CompetitionRow, viewer: string) =>
	c.status !== "draft" || c.organiser_id === viewer;

const CURSOR = /^(\d{4}-\d{2}-\d{2}T[\d:.]+Z)\|([0-9a-f-]{36})$/;

export function createCompetitionService(deps: { sql: Sql; boards: Leaderboards }) {
	const { sql, boards } = deps;

	async function visible(id: string, viewer: string, lock = false, tx: Queryable | undefined = undefined) {
		const c = await findCompetition(tx ?? sql, id, viewer, lock);
		if (!c || !visibleTo(c, viewer)) throw new NotFound("competition");
		return c;
	}

	async function owned(tx: Queryable, id: string, viewer: string) {
		const c = await visible(id, viewer, true, tx);
		if (c.organiser_id !== viewer) throw new Forbidden("only the organiser may change a competition");
		return c;
	}

	/** After the commit: the rows to Redis, then a poke to every API process's leaderboard sockets. */
	async function publish(competitionId: string, startsAt: Date, rows: ScoreRow[]) {
		// Redis is a copy: a failed write drops the board, and the next read rebuilds it from Postgres.
		await boards
			.apply(competitionId, startsAt.getTime(), rows)
			.catch(() => boards.remove(competitionId).catch(() => {}));
		await sql`select pg_notify(${LEADERBOARD_CHANNEL}, ${competitionId})`;
	}

	return {
		async create(userId: string, input: CreateInput): Promise<CompetitionView> {
			if (!validZone(input.timeZone)) throw new Invalid("unknown time zone", { field: "timeZone" });
			const startsAt = new Date(input.startsAt);
			const endsAt = new Date(input.endsAt);
			checkWindow(startsAt, endsAt);
			checkPayout(input.payoutBps);
			const id = await sql.begin(async (tx) => {
				const id = await insertCompetition(tx, userId, {
					name: input.name,
					description: input.description ?? "",
					metric: input.metric,
					time_zone: input.timeZone,
					starts_at: startsAt,
					ends_at: endsAt,
					max_participants: input.maxParticipants ?? null,
					prize_pool_minor: input.prizePoolMinor ?? 0,
					currency: input.currency ?? "EUR",
					payout_bps: input.payoutBps ?? [],
				});
				await audit(tx, id, userId, "created");
				return id;
			});
			await boards.create(id);
			return toCompetitionView((await findCompetition(sql, id, userId))!);
		},

		get: async (userId: string, id: string) => toCompetitionView(await visible(id, userId)),

		async list(userId: string, q: { mine?: boolean; limit?: number; cursor?: string }) {
			const limit = q.limit ?? 20;
			let after: { createdAt: Date; id: string } | undefined;
			if (q.cursor) {
				const m = CURSOR.exec(Buffer.from(q.cursor, "base64url").toString("utf8"));
				if (!m) throw new Invalid("invalid cursor", { field: "cursor" });
				after = { createdAt: new Date(m[1]!), id: m[2]! };
			}
			const rows = await listCompetitions(sql, userId, { mine: q.mine ?? false, limit, after });
			const items = rows.slice(0, limit);
			const last = items.at(-1);
			return {
				items: items.map(toCompetitionView),
				nextCursor:
					rows.length > limit && last
						? Buffer.from(`${last.created_at.toISOString()}|${last.id}`).toString("base64url")
						: null,
			};
		},

		async update(userId: string, id: string, input: UpdateInput): Promise<CompetitionView> {
			await sql.begin(async (tx) => {
				const c = await owned(tx, id, userId);
				const f: CompetitionFields = {};
				if (input.name !== undefined) f.name = input.name;
				if (input.description !== undefined) f.description = input.description;
				if (input.maxParticipants !== undefined) f.max_participants = input.maxParticipants;
				const dates = input.startsAt !== undefined || input.endsAt !== undefined;
				if ((dates || input.payoutBps !== undefined) && c.status !== "draft")
					throw new Conflict("dates and the payout table change only while the competition is a draft");
				if (dates) {
					f.starts_at = new Date(input.startsAt ?? c.starts_at);
					f.ends_at = new Date(input.endsAt ?? c.ends_at);
					checkWindow(f.starts_at, f.ends_at);
				}
				if (input.payoutBps !== undefined) {
					checkPayout(input.payoutBps);
					f.payout_bps = input.payoutBps;
				}
				if (input.prizePoolMinor !== undefined) {
					if (!["draft", "open", "running"].includes(c.status))
						throw new Conflict("the prize pool is fixed once the competition has ended");
					f.prize_pool_minor = input.prizePoolMinor;
				}
				if (input.status === "open" && c.status !== "open") {
					if (c.status !== "draft") throw new Conflict(`a ${c.status} competition cannot be opened`);
					f.status = "open";
				}
				if (input.status === "cancelled" && c.status !== "cancelled") {
					if (!["draft", "open", "running"].includes(c.status))
						throw new Conflict(`a ${c.status} competition cannot be cancelled`);
					f.status = "cancelled";
				}
				await updateCompetition(tx, id, f);
				await audit(tx, id, userId, "updated", { fields: Object.keys(f) });
			});
			return this.get(userId, id);
		},

		async remove(userId: string, id: string): Promise<void> {
			await sql.begin(async (tx) => {
				const c = await owned(tx, id, userId);
				if (c.status !== "draft" && c.status !== "cancelled")
					throw new Conflict("only a draft or a cancelled competition can be deleted");
				await deleteCompetition(tx, id);
			});
			await boards.remove(id).catch(() => {});
		},

		/** Joins while open or running (and not full); idempotent. The score counts records already synced. */
		async join(userId: string, id: string): Promise<CompetitionView> {
			const { c, row } = await sql.begin(async (tx) => {
				const c = await visible(id, userId, true, tx);
				if (c.joined) return { c, row: undefined };
				if (c.status !== "open" && c.status !== "running")
					throw new Conflict(`a ${c.status} competition cannot be joined`);
				if (c.max_participants !== null && c.participants >= c.max_participants)
					throw new Conflict("the competition is full");
				if (await removedByOrganiser(tx, id, userId))
					throw new Forbidden("the organiser removed you from this competition");
				await tx`insert into competition_participants (competition_id, user_id) values (${id}, ${userId})`;
				const score = await computeScore(tx, c, userId);
				const [row] = await tx<ScoreRow[]>`
					insert into competition_scores (competition_id, user_id, score, reached_at)
					values (${id}, ${userId}, ${score}, ${reachedNow(tx, c.starts_at)})
					on conflict (competition_id, user_id) do update
					  set score = excluded.score, removed = false, version = competition_scores.version + 1,
					      reached_at = excluded.reached_at
					returning user_id::text, score::float8 as score, reached_at, version::float8 as version, removed, excluded`;
				await audit(tx, id, userId, "joined");
				return { c, row };
			});
			if (row) await publish(id, c.starts_at, [row]);
			return this.get(userId, id);
		},

		/** Leaves before the end; idempotent. The leaderboard drops the caller at once. */
		async leave(userId: string, id: string): Promise<void> {
			const { c, row } = await sql.begin(async (tx) => {
				const c = await visible(id, userId, true, tx);
				if (!c.joined) return { c, row: undefined };
				if (c.status !== "open" && c.status !== "running")
					throw new Conflict(`a ${c.status} competition cannot be left`);
				await tx`delete from competition_participants where competition_id = ${id} and user_id = ${userId}`;
				const [row] = await tx<ScoreRow[]>`
					update competition_scores set removed = true, version = version + 1
					where competition_id = ${id} and user_id = ${userId}
					returning user_id::text, score::float8 as score, reached_at, version::float8 as version, removed, excluded`;
				await audit(tx, id, userId, "left");
				return { c, row };
			});
			if (row) await publish(id, c.starts_at, [row]);
		},

		/**
		 * The organiser removes a participant before the end: off the board at once, an audit row,
		 * and no rejoining (join checks the audit). Not a participant: 404.
		 */
		async removeParticipant(organiserId: string, id: string, userId: string): Promise<void> {
			const { c, row } = await sql.begin(async (tx) => {
				const c = await owned(tx, id, organiserId);
				if (c.status !== "open" && c.status !== "running")
					throw new Conflict(`participants of a ${c.status} competition cannot be removed`);
				const gone = await tx`
					delete from competition_participants where competition_id = ${id} and user_id = ${userId}
					returning user_id`;
				if (gone.length === 0) throw new NotFound("participant");
				const [row] = await tx<ScoreRow[]>`
					update competition_scores set removed = true, version = version + 1
					where competition_id = ${id} and user_id = ${userId}
					returning user_id::text, score::float8 as score, reached_at, version::float8 as version, removed, excluded`;
				await audit(tx, id, organiserId, "participant_removed", { userId });
				return { c, row };
			});
			if (row) await publish(id, c.starts_at, [row]);
		},

		visible,
		publish,
	};
}

export type CompetitionService = ReturnType<typeof createCompetitionService>;
