/**
 * One action run per fire (`action:<fire key>`: the fire's idempotency key),
 * started by the bridge from the fire's outbox row. It waits its spread
 * within the second (fires due together do not leave together), then runs
 * the action under its kind's retry policy; every attempt is recorded by the
 * activity, and the run ends succeeded or failed.
 */
import { ActivityFailure, ApplicationFailure, sleep } from "@temporalio/workflow";
import type { createTriggerActionActivities } from "../activities/triggers/index.ts";
import { sendOptions } from "./delivery-plan.ts";
import { featureActivities } from "./kit/activities.ts";
import {
	type ActorCounters,
	type ActorInput,
	defineActor,
	newCounters,
	receiveChanges,
} from "./kit/actor.ts";

type Activities = ReturnType<typeof createTriggerActionActivities>;

const { startRun, settleRun } = featureActivities<Activities>("triggers");

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
	const plan = await startRun(input.entityKey);
	if (!plan) return { status: "skipped" };
	if (plan.spreadMs > 0) await sleep(plan.spreadMs);
	const { policy } = plan;
	const { attemptAction } = featureActivities<Activities>("triggers", sendOptions(policy));
	try {
		await attemptAction(input.entityKey);
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
