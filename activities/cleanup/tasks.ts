/**
 * The cleanup tasks the daily workflow runs, by name. A later feature adds its
 * own purge here (expired refresh tokens, delivered outbox rows, …): one
 * entry, one SQL statement, returning how many rows it removed.
 */
import type { Sql } from "../../src/infra/db/sql.ts";

export type CleanupTask = (sql: Sql) => Promise<number>;

export const cleanupTasks: Record<string, CleanupTask> = {
	"cleanup-runs": async (sql) => {
		const rows = await sql`delete from cleanup_runs where finished_at < now() - interval '90 days'`;
		return rows.count;
	},
};
