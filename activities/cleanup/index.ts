import { ApplicationFailure } from "@temporalio/activity";
import type { Sql } from "../../src/infra/db/sql.ts";
import { type CleanupSettings, cleanupTasks } from "./tasks.ts";

export function createCleanupActivities(deps: { sql: Sql; cleanup?: CleanupSettings }) {
	const settings = deps.cleanup ?? { outboxRetentionHours: 72 };
	return {
		async listCleanupTasks(): Promise<string[]> {
			return Object.keys(cleanupTasks);
		},
		async runCleanupTask(name: string): Promise<number> {
			const task = cleanupTasks[name];
			if (!task) throw ApplicationFailure.nonRetryable(`unknown cleanup task ${name}`, "UnknownCleanupTask");
			return task(deps.sql, settings);
		},
		async recordCleanupRun(removed: Record<string, number>): Promise<void> {
			await deps.sql`insert into cleanup_runs (removed) values (${deps.sql.json(removed)})`;
		},
	};
}
