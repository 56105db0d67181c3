/**
 * Disputes: a participant files one against another participant while the
 * window after the freeze is open; the organiser upholds it (the subject is
 * excluded from the prizes and the board: a new snapshot version, so the
 * next calculation leaves them out) or rejects it. Distribution waits for
 * the window to close and for every dispute to be resolved. Each step is
 * written to the append-only audit.
 */
import { Conflict, Forbidden, NotFound } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import { audit } from "./competitions-repository.ts";
import type { CompetitionService } from "./competitions-service.ts";
import type { ScoreRow } from "./leaderboard.ts";
import { resnapshot } from "./standings.ts";

export interface DisputeView {
	id: string;
	competitionId: string;
	filedBy: string;
	subjectUserId: string;
	reason: string;
	status: "open" | "upheld" | "rejected";
	resolution: string | null;
	createdAt: string;
	resolvedAt: string | null;
}

interface DisputeRow {
	id: string;
	competition_id: string;
	filed_by: string;
	subject_user_id: string;
	reason: string;
	status: DisputeView["status"];
	resolution: string | null;
	created_at: Date;
	resolved_at: Date | null;
}

const toView = (d: DisputeRow): DisputeView => ({
	id: d.id,
	competitionId: d.competition_id,
	filedBy: d.filed_by,
	subjectUserId: d.subject_user_id,
	reason: d.reason,
	status: d.status,
	resolution: d.resolution,
	createdAt: d.created_at.toISOString(),
	resolvedAt: d.resolved_at?.toISOString() ?? null,
});

const COLUMNS =
	"id::text, competition_id::text, filed_by::text, subject_user_id::text, reason, status, resolution, created_at, resolved_at";

export function createDisputeService(deps: {
	sql: Sql;
	competitions: CompetitionService;
	disputeWindowMs: number;
}) {
	const { sql } = deps;

	async function access(competitionId: string, userId: string) {
		const [c] = await sql<{ organiser_id: string; status: string; starts_at: Date; joined: boolean }[]>`
			select organiser_id::text, status, starts_at,
			       exists (select 1 from competition_participants p where p.competition_id = c.id and p.user_id = ${userId}) as joined
			from competitions c where id = ${competitionId}`;
		if (!c || (c.organiser_id !== userId && !c.joined)) throw new NotFound("competition");
		return { ...c, organiser: c.organiser_id === userId };
	}

	return {
		async file(
			userId: string,
			competitionId: string,
			input: { subjectUserId: string; reason: string },
		): Promise<DisputeView> {
			const c = await access(competitionId, userId);
			if (!c.joined) throw new Forbidden("only participants file disputes");
			return sql.begin(async (tx) => {
				const [w] = await tx<{ open: boolean }[]>`
					select frozen_at is not null and now() < frozen_at + ${deps.disputeWindowMs} * interval '1 millisecond' as open
					from competitions where id = ${competitionId} for update`;
				if (!w?.open) throw new Conflict("disputes are filed while the window after the freeze is open");
				const [subject] = await tx`
					select 1 from competition_participants where competition_id = ${competitionId} and user_id = ${input.subjectUserId}`;
				if (!subject) throw new NotFound("participant");
				const [row] = await tx<DisputeRow[]>`
					insert into competition_disputes (competition_id, filed_by, subject_user_id, reason)
					values (${competitionId}, ${userId}, ${input.subjectUserId}, ${input.reason})
					returning ${tx.unsafe(COLUMNS)}`;
				await audit(tx, competitionId, userId, "dispute_filed", {
					disputeId: row!.id,
					subjectUserId: input.subjectUserId,
				});
				return toView(row!);
			});
		},

		/** The organiser sees every dispute; a participant those they filed or that concern them. */
		async list(userId: string, competitionId: string): Promise<DisputeView[]> {
			const c = await access(competitionId, userId);
			const rows = await sql<DisputeRow[]>`
				select ${sql.unsafe(COLUMNS)} from competition_disputes
				where competition_id = ${competitionId}
				  ${c.organiser ? sql`` : sql`and (filed_by = ${userId} or subject_user_id = ${userId})`}
				order by created_at, id`;
			return rows.map(toView);
		},

		async resolve(
			userId: string,
			competitionId: string,
			disputeId: string,
			input: { decision: "upheld" | "rejected"; resolution?: string },
		): Promise<DisputeView> {
			const c = await access(competitionId, userId);
			if (!c.organiser) throw new Forbidden("only the organiser resolves disputes");
			let excluded: ScoreRow | undefined;
			const view = await sql.begin(async (tx) => {
				const [d] = await tx<DisputeRow[]>`
					select ${tx.unsafe(COLUMNS)} from competition_disputes
					where id = ${disputeId} and competition_id = ${competitionId} for update`;
				if (!d) throw new NotFound("dispute");
				if (d.status !== "open") throw new Conflict(`the dispute is already ${d.status}`);
				const [paying] = await tx`
					select 1 from prize_calculations where competition_id = ${competitionId} and status in ('approved', 'completed')`;
				if (paying && input.decision === "upheld")
					throw new Conflict("the prizes are already being distributed");
				const [row] = await tx<DisputeRow[]>`
					update competition_disputes set status = ${input.decision}, resolution = ${input.resolution ?? null}, resolved_at = now()
					where id = ${disputeId} returning ${tx.unsafe(COLUMNS)}`;
				if (input.decision === "upheld") {
					[excluded] = await tx<ScoreRow[]>`
						update competition_scores set excluded = true, version = version + 1
						where competition_id = ${competitionId} and user_id = ${d.subject_user_id} and not excluded
						returning user_id::text, score::float8 as score, reached_at, version::float8 as version, removed, excluded`;
					await resnapshot(tx, competitionId, userId);
				}
				await audit(tx, competitionId, userId, `dispute_${input.decision}`, {
					disputeId,
					subjectUserId: d.subject_user_id,
				});
				return toView(row!);
			});
			if (excluded) await deps.competitions.publish(competitionId, c.starts_at, [excluded]);
			return view;
		},
	};
}

export type DisputeService = ReturnType<typeof createDisputeService>;
