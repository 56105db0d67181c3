/**
 * The competition actor: one workflow per competition (`competition:<uuid>`),
 * signalled by the bridge on every change of its row. It sleeps on durable
 * timers until the start and the end, waits the grace period for late
 * syncs, has the standings frozen and the prizes calculated (one activity:
 * both are single SQL transactions), and, once the organiser approves a
 * calculation, runs its distribution as a child workflow
 * (`prizes:<calculation id>`, by business id: never twice). It ends when the
 * competition is settled, cancelled or deleted; workflows carry ids only
 * (the snapshot and calculation ids), never the standings.
 */
import {
	allHandlersFinished,
	condition,
	executeChild,
	ParentClosePolicy,
	setHandler,
	WorkflowIdReusePolicy,
} from "@temporalio/workflow";
import type { CompetitionActorView, createFitnessActivities } from "../activities/fitness/index.ts";
import { featureActivities } from "./kit/activities.ts";
import {
	type ActorCounters,
	type ActorInput,
	continueAsNewIfDue,
	defineActor,
	newCounters,
	receiveChanges,
	statsQuery,
} from "./kit/actor.ts";

type FitnessActivities = ReturnType<typeof createFitnessActivities>;
const { syncCompetition, pendingAllocations, finishDistribution } =
	featureActivities<FitnessActivities>("fitness");

export const competitionActorDefinition = defineActor({
	workflowType: "competitionActor",
	idPrefix: "competition:",
	signalName: "competitionChanged",
});

export const prizeDistributionWorkflowId = (calculationId: string) => `prizes:${calculationId}`;

export type CompetitionActorInput = ActorInput<ActorCounters>;
export { statsQuery };

const ENDED = new Set(["settled", "cancelled", "deleted", "draft"]);

export async function competitionActor(input: CompetitionActorInput): Promise<{ ended: string }> {
	const competitionId = input.entityKey;
	const state = input.state ?? newCounters();
	let dirty = true;
	let view: CompetitionActorView | undefined;
	receiveChanges(competitionActorDefinition, state, () => {
		dirty = true;
	});
	setHandler(statsQuery, () => state);

	for (;;) {
		if (dirty) {
			dirty = false;
			view = await syncCompetition(competitionId, Date.now());
		}
		if (!view) continue;
		if (ENDED.has(view.status)) {
			await condition(allHandlersFinished);
			if (!dirty) return { ended: view.status };
			continue;
		}
		if (view.distribute) {
			try {
				await executeChild(prizeDistribution, {
					workflowId: prizeDistributionWorkflowId(view.distribute),
					args: [{ calculationId: view.distribute, attemptTimeoutMs: view.payoutAttemptMs }],
					parentClosePolicy: ParentClosePolicy.ABANDON,
					workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
				});
				dirty = true; // the distribution settled the competition: read it again
			} catch {
				// Already started by an earlier run of this actor (it settles the row when done), or
				// failed (its ledger says why): wait for the next change of the row.
				await condition(() => dirty);
			}
			continue;
		}
		await continueAsNewIfDue<typeof competitionActor>(input.historyLimit, {
			entityKey: competitionId,
			state,
			historyLimit: input.historyLimit,
		});
		if (view.wakeAtMs === null) {
			await condition(() => dirty);
			continue;
		}
		const wait = Math.max(1, view.wakeAtMs - Date.now());
		if (!(await condition(() => dirty, wait))) dirty = true; // the timer fired: a transition is due
	}
}

export interface PrizeDistributionInput {
	calculationId: string;
	/** Each payout attempt's time limit (PAYOUT_TIMEOUT_MS + 5 s); a worker that died is retried after it. */
	attemptTimeoutMs: number;
}

/**
 * Pays every allocation of one approved calculation, one after another
 * (each attempt idempotent at the provider by `payout:<allocation id>`), then
 * settles the competition and notifies the winners. A worker killed in the
 * middle loses nothing: the history records which payouts finished, the
 * ledger which were submitted, and the provider deduplicates the resend.
 */
export async function prizeDistribution(input: PrizeDistributionInput) {
	const { payAllocation } = featureActivities<FitnessActivities>("fitness", {
		startToCloseTimeout: input.attemptTimeoutMs,
		retry: { initialInterval: "1 second", backoffCoefficient: 2, maximumInterval: "5 minutes" },
	});
	const ids = await pendingAllocations(input.calculationId);
	const outcomes = [];
	for (const id of ids) outcomes.push(await payAllocation(id));
	const { notified } = await finishDistribution(input.calculationId);
	return { calculationId: input.calculationId, outcomes, notified };
}
