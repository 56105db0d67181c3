/** The reminders feature's configuration section. */
import { Config } from "effect";
import type { HeraldConfig } from "../config.ts";
import { int } from "../config-kit.ts";

export const remindersConfig = Config.all({
	/** A firing this late (the worker was down) goes into one "missed" summary instead. */
	missedAfterSeconds: int("REMINDER_MISSED_AFTER_SECONDS", 3600),
});

export type ReminderSettings = typeof remindersConfig extends Config.Config<infer A> ? A : never;

export const REMINDERS = "reminders";

export const reminderSettings = (config: HeraldConfig): ReminderSettings =>
	(config.sections[REMINDERS] as ReminderSettings | undefined) ?? { missedAfterSeconds: 3600 };
