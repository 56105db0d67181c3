/**
 * Temporal Schedules replace cron. Registered idempotently at start-up: a
 * schedule that exists is updated to the wanted spec, one that does not is
 * created, so any number of processes can run this at once.
 */
import { type Client, ScheduleAlreadyRunning, type ScheduleOptions } from "@temporalio/client";
import { dailyCleanup } from "../../workflows/cleanup.ts";
import { scheduleIds, workflowIds } from "../../workflows/kit/ids.ts";
import { reconcile } from "../../workflows/reconcile.ts";

export function wantedSchedules(options: {
	taskQueue: string;
	cleanupCron: string;
	reconcileIntervalSeconds: number;
}): ScheduleOptions[] {
	return [
		{
			scheduleId: scheduleIds.dailyCleanup,
			spec: { cronExpressions: [options.cleanupCron], timezone: "UTC" },
			action: {
				type: "startWorkflow",
				workflowType: dailyCleanup,
				workflowId: workflowIds.cleanup("scheduled"),
				taskQueue: options.taskQueue,
				args: [],
			},
			policies: { overlap: "SKIP", catchupWindow: "1 day" },
			state: { note: "Herald daily cleanup (expired data, delivered outbox rows)" },
		},
		{
			scheduleId: scheduleIds.reconcile,
			spec: { intervals: [{ every: `${options.reconcileIntervalSeconds}s` }] },
			action: {
				type: "startWorkflow",
				workflowType: reconcile,
				workflowId: workflowIds.reconcile("scheduled"),
				taskQueue: options.taskQueue,
				args: [],
			},
			policies: { overlap: "SKIP", catchupWindow: "10 minutes" },
			state: { note: "Herald reconciler: every live row has its actor, every notification its delivery" },
		},
	];
}

export async function ensureSchedules(client: Client, wanted: ScheduleOptions[]): Promise<void> {
	for (const options of wanted) {
		try {
			await client.schedule.create(options);
		} catch (error) {
			if (!(error instanceof ScheduleAlreadyRunning)) throw error;
			await client.schedule.getHandle(options.scheduleId).update((previous) => ({
				...previous,
				spec: options.spec,
				action: options.action as typeof previous.action,
				policies: { ...previous.policies, ...options.policies },
			}));
		}
	}
}
