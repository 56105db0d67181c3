/** The sync feature's configuration section. */
import { Config } from "effect";
import type { HeraldConfig } from "../config.ts";
import { int } from "../config-kit.ts";

export const syncConfig = Config.all({
	/** How long a deleted row's tombstone is kept for devices that have not pulled since (then `clear`). */
	tombstoneRetentionDays: int("SYNC_TOMBSTONE_RETENTION_DAYS", 90),
	/** The most patch entries one pull page may carry (a request's `limit` is capped to it). */
	pullMaxLimit: int("SYNC_PULL_MAX_LIMIT", 1000),
	/** The most patch entries a push response carries; past it the patch is left out and the cookie is null (pull). */
	pushMaxPatch: int("SYNC_PUSH_MAX_PATCH", 1000),
});

export type SyncSettings = typeof syncConfig extends Config.Config<infer A> ? A : never;

export const SYNC = "sync";

export const SYNC_DEFAULTS: SyncSettings = {
	tombstoneRetentionDays: 90,
	pullMaxLimit: 1000,
	pushMaxPatch: 1000,
};

export const syncSettings = (config: HeraldConfig): SyncSettings =>
	(config.sections[SYNC] as SyncSettings | undefined) ?? SYNC_DEFAULTS;
