/**
 * Workflow ids and schedule ids in one place. Pure: workflows may import it.
 * Ids are business ids (`<kind>:<id>`), so starts and `signalWithStart`
 * deduplicate; an actor's id comes from its definition (`defineActor`), the
 * task queue from configuration (TEMPORAL_TASK_QUEUE).
 */
import { competitionActorDefinition, prizeDistributionWorkflowId } from "../competition.ts";
import { deliveryWorkflowId } from "../delivery-plan.ts";
import { eventActorDefinition } from "../event.ts";
import { reminderActorDefinition } from "../reminder.ts";

export const workflowIds = {
	cleanup: (runKey: string) => `cleanup:${runKey}`,
	reconcile: (runKey: string) => `reconcile:${runKey}`,
	/** One delivery workflow per notification; the event actor starts it as a child. */
	delivery: deliveryWorkflowId,
	event: eventActorDefinition.workflowId,
	reminder: reminderActorDefinition.workflowId,
	competition: competitionActorDefinition.workflowId,
	/** One distribution per approved prize calculation; the competition actor starts it as a child. */
	prizes: prizeDistributionWorkflowId,
} as const;

export const scheduleIds = {
	dailyCleanup: "herald-daily-cleanup",
	reconcile: "herald-reconcile",
} as const;
