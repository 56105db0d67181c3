/**
 * The cleanup tasks the daily workflow runs, by name. A later feature adds its
 * own purge here (expired refresh tokens, delivered outbox rows, …): one
 * entry, one SQL statement, returning how many rows it removed.
 */
import type { Sql } from "../../src/infra/db/sql.ts";

export interface CleanupSettings {
	/** Delivered outbox rows are kept this long (OUTBOX_RETENTION_HOURS). */
	outboxRetentionHours: number;
}

export type CleanupTask = (sql: Sql, settings: CleanupSettings) => Promise<number>;

export const cleanupTasks: Record<string, CleanupTask> = {
	"cleanup-runs": async (sql) => {
		const rows = await sql`delete from cleanup_runs where finished_at < now() - interval '90 days'`;
		return rows.count;
	},
	"delivered-outbox": async (sql, settings) => {
		const rows = await sql`
			delete from outbox
			where delivered_at < now() - make_interval(hours => ${settings.outboxRetentionHours})`;
		return rows.count;
	},
	"expired-refresh-tokens": async (sql) => {
		const rows = await sql`delete from refresh_tokens where expires_at < now()`;
		return rows.count;
	},
	"ended-sessions": async (sql) => {
		// Revoked a month ago, or with no refresh token left: nothing can use them any more.
		const rows = await sql`
			delete from auth_sessions s
			where s.revoked_at < now() - interval '30 days'
			   or (s.created_at < now() - interval '1 day'
			       and not exists (select 1 from refresh_tokens t where t.session_id = s.id))`;
		return rows.count;
	},
};
