/**
 * One action run per fire (`action:<fire key>`: the fire's idempotency key),
 * started by the bridge from the fire's outbox row. It waits its spread
 * within the second (fires due together do not leave together), then runs
 * the action under its kind's retry policy; every attempt is recorded by the
 * activity, and the run ends succeeded or failed.
 *
 * Since the LOCAL_RUN_STEPS `patched` marker (histories recorded before it
 * replay the old way: three activity tasks and a timer) a run costs the
 * server one activity task and two workflow tasks: the run's row is written
 * by a local activity inside the run's first workflow task, the spread is
 * waited inside the first attempt (`attemptAction`'s `spreadMs`, so no timer
 * and no workflow task of its own), and the settle is a local activity in the
 * task that sees the attempt end. Both local steps are idempotent (insert on
 * conflict do nothing; update while running): run again after a lost
 * workflow task, they change nothing.
 */
import { ActivityFailure, ApplicationFailure, patched, sleep } from "@temporalio/workflow";
import type { createTriggerActionActivities } from "../activities/triggers/index.ts";
import { sendOptions } from "./delivery-plan.ts";
import { featureActivities, featureLocalActivities } from "./kit/activities.ts";
import {
	type ActorCounters,
	type ActorInput,
	defineActor,
	newCounters,
	receiveChanges,
} from "./kit/actor.ts";

type Activities = ReturnType<typeof createTriggerActionActivities>;

/** The patch id that moved `startRun` and `settleRun` to local activities. */
export const LOCAL_RUN_STEPS = "action-run-local-steps";

const remote = featureActivities<Activities>("triggers");
const local = featureLocalActivities<Activities>("triggers");

export const triggerActionDefinition = defineActor({
	workflowType: "triggerActionRun",
	idPrefix: "action:",
	signalName: "fireChanged",
});

export async function triggerActionRun(
	input: ActorInput<ActorCounters>,
): Promise<{ status: "succeeded" | "failed" | "skipped" }> {
	const counters = input.state ?? newCounters();
	receiveChanges(triggerActionDefinition, counters, () => {}); // a fire never changes
	const fast = patched(LOCAL_RUN_STEPS);
	const { startRun, settleRun } = fast ? local : remote;
	const plan = await startRun(input.entityKey);
	if (!plan) return { status: "skipped" };
	if (!fast && plan.spreadMs > 0) await sleep(plan.spreadMs);
	const { policy } = plan;
	// The first attempt waits the spread before it sends: its time limit has room for it.
	const options = sendOptions(
		fast ? { ...policy, startToCloseMs: policy.startToCloseMs + plan.spreadMs } : policy,
	);
	const { attemptAction } = featureActivities<Activities>("triggers", options);
	try {
		await (fast
			? attemptAction(input.entityKey, { spreadMs: plan.spreadMs })
			: attemptAction(input.entityKey));
		await settleRun(input.entityKey, "succeeded", null);
		return { status: "succeeded" };
	} catch (error) {
		if (!(error instanceof ActivityFailure)) throw error;
		const cause = error.cause;
		await settleRun(
			input.entityKey,
			"failed",
			cause instanceof ApplicationFailure ? cause.message : error.message,
		);
		return { status: "failed" };
	}
}
