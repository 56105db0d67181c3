/**
 * Workflow ids and schedule ids in one place. Pure: workflows may import it.
 * Ids are business ids (`<actor>:<entity id>`), so `signalWithStart`
 * deduplicates; the task queue name comes from configuration (TEMPORAL_TASK_QUEUE).
 */
import { deliveryWorkflowId } from "../../workflows/delivery-plan.ts";

export const workflowIds = {
	cleanup: (runKey: string) => `cleanup:${runKey}`,
	/** One delivery workflow per notification; the event actor starts it as a child. */
	delivery: deliveryWorkflowId,
	/** Must match the `event:` prefix in the outbox_routes table. */
	event: (eventId: string) => `event:${eventId}`,
} as const;

export const scheduleIds = {
	dailyCleanup: "herald-daily-cleanup",
} as const;
