/**
 * Platform upkeep, scheduled by Temporal: the daily cleanup (every feature's
 * cleanup tasks, one activity each) and the reconciler (every few minutes:
 * every live entity has its actor, actors of gone entities end, every
 * notification has a delivery workflow). Both record their runs; the latest
 * reconcile shows in `/api/v1/health`.
 */
import { createMaintenanceActivities } from "../../activities/maintenance/index.ts";
import { defineFeature } from "../feature.ts";
import { purgeIdempotencyKeys } from "../http/idempotency-store.ts";
import { MAINTENANCE, maintenanceConfig, maintenanceSettings } from "./settings.ts";

export const maintenanceFeature = defineFeature({
	name: MAINTENANCE,
	config: maintenanceConfig,
	activities: (ctx) => createMaintenanceActivities(ctx),
	cleanup: {
		"cleanup-runs": async (sql) => {
			const rows = await sql`delete from cleanup_runs where finished_at < now() - interval '90 days'`;
			return rows.count;
		},
		"reconcile-runs": async (sql) => {
			const rows = await sql`delete from reconcile_runs where finished_at < now() - interval '7 days'`;
			return rows.count;
		},
		"expired-idempotency-keys": (sql) => purgeIdempotencyKeys(sql),
		"delivered-outbox": async (sql, config) => {
			const { outboxRetentionHours } = maintenanceSettings(config);
			const rows = await sql`
				delete from outbox
				where delivered_at < now() - make_interval(hours => ${outboxRetentionHours})`;
			return rows.count;
		},
	},
});
