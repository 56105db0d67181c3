/**
 * Prizes over the API: the organiser calculates (from the latest frozen
 * snapshot) and approves the distribution once the dispute window has
 * passed; the competition's actor then runs the distribution workflow. A
 * second distribute finds nothing awaiting approval: 409, and never a
 * second workflow (one approved calculation per competition, a unique index).
 */
import { prizeDistributionWorkflowId } from "../../workflows/competition.ts";
import { Conflict, Forbidden, NotFound } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import { audit } from "./competitions-repository.ts";
import { type Calculation, calculate, latestSnapshot, loadCalculation } from "./standings.ts";

export function createPrizeService(deps: { sql: Sql; disputeWindowMs: number }) {
	const { sql } = deps;

	async function organised(competitionId: string, userId: string) {
		const [c] = await sql<{ organiser_id: string; status: string; joined: boolean }[]>`
			select organiser_id::text, status,
			       exists (select 1 from competition_participants p where p.competition_id = c.id and p.user_id = ${userId}) as joined
			from competitions c where id = ${competitionId}`;
		if (!c || (c.status === "draft" && c.organiser_id !== userId)) throw new NotFound("competition");
		return { ...c, organiser: c.organiser_id === userId };
	}

	async function latest(competitionId: string): Promise<Calculation | undefined> {
		const [row] = await sql<{ id: string }[]>`
			select id::text from prize_calculations where competition_id = ${competitionId}
			order by (status in ('approved', 'completed')) desc, created_at desc limit 1`;
		return row ? loadCalculation(sql, row.id) : undefined;
	}

	return {
		async calculate(userId: string, competitionId: string): Promise<Calculation> {
			const c = await organised(competitionId, userId);
			if (!c.organiser) throw new Forbidden("only the organiser calculates prizes");
			return calculate(sql, competitionId, userId);
		},

		/** The current calculation and its ledger: the organiser's and the participants' to see. */
		async get(userId: string, competitionId: string): Promise<Calculation> {
			const c = await organised(competitionId, userId);
			if (!c.organiser && !c.joined) throw new NotFound("prize calculation");
			const calc = await latest(competitionId);
			if (!calc) throw new NotFound("prize calculation");
			return calc;
		},

		async distribute(userId: string, competitionId: string) {
			const c = await organised(competitionId, userId);
			if (!c.organiser) throw new Forbidden("only the organiser distributes prizes");
			const calculationId = await sql.begin(async (tx) => {
				const [comp] = await tx<{ frozen_at: Date | null; open_until: Date | null; now: Date }[]>`
					select frozen_at, frozen_at + ${deps.disputeWindowMs} * interval '1 millisecond' as open_until, now()
					from competitions where id = ${competitionId} for update`;
				if (!comp?.frozen_at) throw new Conflict("the competition is not frozen yet");
				if (comp.open_until! > comp.now)
					throw new Conflict("the dispute window is still open", { until: comp.open_until!.toISOString() });
				const [open] =
					await tx`select 1 from competition_disputes where competition_id = ${competitionId} and status = 'open'`;
				if (open) throw new Conflict("a dispute is still open");
				const snapshot = await latestSnapshot(tx, competitionId);
				const [calc] = await tx<{ id: string }[]>`
					update prize_calculations set status = 'approved', approved_at = now()
					where competition_id = ${competitionId} and snapshot_id = ${snapshot!.id} and status = 'awaiting_approval'
					returning id::text`;
				if (!calc)
					throw new Conflict(
						"no calculation of the current standings awaits approval (calculate first, or it is already distributing)",
					);
				await tx`update competitions set status = 'distributing' where id = ${competitionId}`;
				await audit(tx, competitionId, userId, "distribution_approved", { calculationId: calc.id });
				return calc.id;
			});
			return {
				calculationId,
				workflowId: prizeDistributionWorkflowId(calculationId),
				status: "approved" as const,
			};
		},
	};
}

export type PrizeService = ReturnType<typeof createPrizeService>;
