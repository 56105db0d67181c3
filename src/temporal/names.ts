/**
 * Workflow ids and schedule ids in one place. Pure: workflows may import it.
 * Ids are business ids (`<actor>:<entity id>`), so `signalWithStart`
 * deduplicates; the task queue name comes from configuration (TEMPORAL_TASK_QUEUE).
 */
export const workflowIds = {
	cleanup: (runKey: string) => `cleanup:${runKey}`,
	/** Must match the `event:` prefix in the outbox_routes table. */
	event: (eventId: string) => `event:${eventId}`,
} as const;

export const scheduleIds = {
	dailyCleanup: "herald-daily-cleanup",
} as const;
