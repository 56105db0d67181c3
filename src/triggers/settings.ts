/** The triggers feature's configuration section (ingestion, conditions, the processor). */
import { Config } from "effect";
import type { HeraldConfig } from "../config.ts";
import { int } from "../config-kit.ts";

export const TRIGGERS = "triggers";

export const triggersConfig = Config.all({
	/** Events in one `POST /api/v1/ingest` (a body is also bounded by BODY_LIMIT_BYTES). */
	ingestMaxBatch: int("INGEST_MAX_BATCH", 1000),
	/** An event's `data`, serialized. */
	ingestMaxDataBytes: int("INGEST_MAX_DATA_BYTES", 65_536),
	/** Events and decisions older than this are removed by the daily cleanup; also the dedupe window. */
	ingestRetentionDays: int("INGEST_RETENTION_DAYS", 30),
	/** Events one ingestion key may send per minute (effect's RateLimiter on Redis, fixed window). */
	ingestEventsPerMinute: int("INGEST_EVENTS_PER_MINUTE", 1_200_000),
	/** A condition (or key, or EMA value) over this evaluation time is a `condition_error`, never a fire. */
	conditionDeadlineMs: int("TRIGGER_CONDITION_DEADLINE_MS", 100),
	/** Triggers one user may have. */
	maxTriggersPerUser: int("TRIGGER_MAX_PER_USER", 1000),
	/** Events one processor batch folds per partition (one transaction). */
	processorBatchSize: int("PROCESSOR_BATCH_SIZE", 1000),
	/** Without a `new_event` wake-up, how often a processor looks for events and due timers. */
	processorPollMs: int("PROCESSOR_POLL_MS", 1000),
});

export type TriggerSettings = typeof triggersConfig extends Config.Config<infer A> ? A : never;

export const DEFAULT_TRIGGER_SETTINGS: TriggerSettings = {
	ingestMaxBatch: 1000,
	ingestMaxDataBytes: 65_536,
	ingestRetentionDays: 30,
	ingestEventsPerMinute: 1_200_000,
	conditionDeadlineMs: 100,
	maxTriggersPerUser: 1000,
	processorBatchSize: 1000,
	processorPollMs: 1000,
};

export const triggerSettings = (config: HeraldConfig): TriggerSettings =>
	(config.sections[TRIGGERS] as TriggerSettings | undefined) ?? DEFAULT_TRIGGER_SETTINGS;
