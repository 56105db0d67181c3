/**
 * Daily cleanup, started by a Temporal Schedule (02:00 UTC by default). Each
 * task is one activity, so the Web UI shows what ran and what it removed; a
 * failing task is retried on its own without re-running the others.
 */
import { proxyActivities } from "@temporalio/workflow";
import type { createActivities } from "../activities/index.ts";

type Activities = ReturnType<typeof createActivities>;

const { listCleanupTasks, runCleanupTask, recordCleanupRun } = proxyActivities<Activities>({
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
