/**
 * Reminders (seed 001): the REST API and the reminder actor fed by the
 * outbox (`reminder:<uuid>`, hearing its own table; triggers turn a subject's
 * soft delete, a settled debt and a new profile time zone into row changes).
 */
import { createReminderActivities } from "../../activities/reminders/index.ts";
import { reminderActorDefinition } from "../../workflows/reminder.ts";
import { defineFeature } from "../feature.ts";
import { reminderRoutes } from "./routes.ts";
import { createReminderService } from "./service.ts";
import { REMINDERS, reminderSettings, remindersConfig } from "./settings.ts";

export const remindersFeature = defineFeature({
	name: REMINDERS,
	config: remindersConfig,
	routes: ({ auth, sql }) => reminderRoutes({ auth }, createReminderService({ sql })),
	activities: ({ sql, config, temporal, taskQueue }) =>
		createReminderActivities({
			sql,
			temporal,
			taskQueue,
			lateMs: reminderSettings(config).missedAfterSeconds * 1000,
		}),
	actors: [
		{
			actor: reminderActorDefinition,
			tables: ["reminders"],
			// The actor ends when its reminder is paused, completed, cancelled or deleted.
			liveKeys: async (sql, after, limit) => {
				const rows = await sql<{ id: string }[]>`
					select id::text from reminders
					where status = 'active' and deleted_at is null and id::text > ${after}
					order by id::text limit ${limit}`;
				return rows.map((r) => r.id);
			},
		},
	],
});
