/** The maintenance feature's configuration section. */
import { Config } from "effect";
import type { HeraldConfig } from "../config.ts";
import { int, str } from "../config-kit.ts";

export const maintenanceConfig = Config.all({
	/** The daily cleanup's schedule (UTC). */
	cleanupCron: str("CLEANUP_CRON", "0 2 * * *"),
	/** Delivered outbox rows are kept this long. */
	outboxRetentionHours: int("OUTBOX_RETENTION_HOURS", 72),
	/** How often the reconciler runs. */
	reconcileIntervalSeconds: int("RECONCILE_INTERVAL_SECONDS", 300),
	/** A notification this old with no delivery workflow gets one (younger ones may still be starting). */
	reconcileGraceSeconds: int("RECONCILE_GRACE_SECONDS", 60),
});

export type MaintenanceSettings = typeof maintenanceConfig extends Config.Config<infer A> ? A : never;

export const MAINTENANCE = "maintenance";

export const maintenanceSettings = (config: HeraldConfig): MaintenanceSettings =>
	config.sections[MAINTENANCE] as MaintenanceSettings;
