/**
 * Daily cleanup, started by a Temporal Schedule (02:00 UTC by default). Each
 * feature's task is one activity, so the Web UI shows what ran and what it
 * removed; a failing task is retried on its own without re-running the others.
 */
import type { createMaintenanceActivities } from "../activities/maintenance/index.ts";
import { featureActivities } from "./kit/activities.ts";

const { listCleanupTasks, runCleanupTask, recordCleanupRun } = featureActivities<
	ReturnType<typeof createMaintenanceActivities>
>("maintenance", {
	startToCloseTimeout: "5 minutes",
	retry: { initialInterval: "5 seconds", maximumAttempts: 5 },
});

export interface CleanupResult {
	readonly removed: Record<string, number>;
}

export async function dailyCleanup(): Promise<CleanupResult> {
	const removed: Record<string, number> = {};
	for (const task of await listCleanupTasks()) removed[task] = await runCleanupTask(task);
	await recordCleanupRun(removed);
	return { removed };
}
