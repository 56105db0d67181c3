/**
 * `GET /api/v1/events/:id/schedule`: the event actor answers (a Temporal
 * query) with its upcoming reminders. Visible to whoever may see the event.
 */
import type { Client } from "@temporalio/client";
import { WorkflowNotFoundError } from "@temporalio/client";
import { Elysia, t } from "elysia";
import { eventActorDefinition, type ScheduleView, scheduleQuery } from "../../workflows/event.ts";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService } from "../auth/service.ts";
import { ErrorBody, EventParams } from "./model.ts";
import type { EventService } from "./service.ts";

export const Schedule = t.Object({
	eventId: t.String({ format: "uuid" }),
	status: t.Union(
		[t.Literal("scheduled"), t.Literal("cancelled"), t.Literal("deleted"), t.Literal("loading")],
		{
			description: "the actor's view of the event; `loading` until it has read the row once",
		},
	),
	reminders: t.Array(
		t.Object({
			participantId: t.String(),
			userId: t.String(),
			offsetSeconds: t.Integer(),
			fireAt: t.String({ format: "date-time" }),
		}),
	),
});

export async function querySchedule(temporal: Client, eventId: string): Promise<ScheduleView> {
	try {
		return await temporal.workflow.getHandle(eventActorDefinition.workflowId(eventId)).query(scheduleQuery);
	} catch (error) {
		// No actor yet (the bridge has not delivered the insert) or it has ended: nothing is planned.
		if (error instanceof WorkflowNotFoundError || /not found|completed|closed/i.test(String(error)))
			return { eventId, status: "loading", reminders: [] };
		throw error;
	}
}

export function scheduleRoute(s: { auth: AuthService; temporal: Client }, events: EventService) {
	return new Elysia({ prefix: "/api/v1/events", detail: { tags: ["events"] } }).use(authPlugin(s.auth)).get(
		"/:id/schedule",
		async ({ principal, params }) => {
			const event = await events.get(principal.user.id, params.id);
			const view = await querySchedule(s.temporal, params.id);
			return event.status === "cancelled" ? { ...view, status: "cancelled" as const, reminders: [] } : view;
		},
		{
			auth: true,
			params: EventParams,
			response: { 200: Schedule, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
			detail: {
				summary: "Upcoming reminders, as planned by the event's actor",
				description: "Answered by the event's Temporal workflow (a query), not from the database.",
			},
		},
	);
}
