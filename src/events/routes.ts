/**
 * /api/v1/events (owner's events and their participants) and
 * /api/v1/registrations (the caller's own participant rows). Everything
 * needs a signed-in user; other users' events answer 404, never 403.
 */

import type { Client } from "@temporalio/client";
import { Elysia, t } from "elysia";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService } from "../auth/service.ts";
import {
	CreateEventBody,
	ErrorBody,
	EventListQuery,
	EventPage,
	EventParams,
	EventView,
	ParticipantChange,
	ParticipantListQuery,
	ParticipantPage,
	ParticipantParams,
	ParticipantView,
	RegistrationPage,
	RegistrationQuery,
	UpdateEventBody,
} from "./model.ts";
import { scheduleRoute } from "./schedule.ts";
import type { EventService } from "./service.ts";

const NoContent = t.Void({ description: "done, no body" });
const registrations = { tags: ["registrations"] };

type Deps = { auth: AuthService; temporal: Client };

export function eventRoutes(s: Deps, events: EventService) {
	return new Elysia()
		.use(eventCrud(s, events))
		.use(scheduleRoute(s, events))
		.use(participantRoutes(s, events))
		.use(
			new Elysia({ prefix: "/api/v1/registrations", detail: registrations })
				.use(authPlugin(s.auth))
				.get("", ({ principal, query }) => events.registrations(principal.user.id, query), {
					auth: true,
					query: RegistrationQuery,
					response: { 200: RegistrationPage, 401: ErrorBody, 422: ErrorBody },
					detail: {
						summary: "The caller's registrations, newest first, with each event's summary",
						description: "Includes cancelled registrations unless filtered by `status`.",
					},
				}),
		);
}

function eventCrud(s: Deps, events: EventService) {
	return new Elysia({ prefix: "/api/v1/events", detail: { tags: ["events"] } })
		.use(authPlugin(s.auth))
		.post(
			"",
			async ({ principal, body, set }) => {
				const event = await events.create(principal.user.id, body);
				set.status = 201;
				return event;
			},
			{
				auth: true,
				body: CreateEventBody,
				response: { 201: EventView, 401: ErrorBody, 422: ErrorBody },
				detail: {
					summary: "Create an event owned by the caller",
					description:
						"`startsAt` must be in the future and `endsAt` after it. `reminderOffsets` (seconds before " +
						"the start) default to [86400, 3600]. Rule violations are 422 with `details.field`.",
				},
			},
		)
		.get("", ({ principal, query }) => events.list(principal.user.id, query), {
			auth: true,
			query: EventListQuery,
			response: { 200: EventPage, 401: ErrorBody, 422: ErrorBody },
			detail: {
				summary: "The caller's own events, by start time",
				description: "`from`/`to` select events whose start lies in [from, to).",
			},
		})
		.get("/:id", ({ principal, params }) => events.get(principal.user.id, params.id), {
			auth: true,
			params: EventParams,
			response: { 200: EventView, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
			detail: {
				summary: "One event",
				description: "Visible to its owner and to users registered for it (in any status); 404 otherwise.",
			},
		})
		.patch("/:id", ({ principal, params, body }) => events.update(principal.user.id, params.id, body), {
			auth: true,
			params: EventParams,
			body: UpdateEventBody,
			response: { 200: EventView, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
			detail: {
				summary: "Change or cancel an event (owner only)",
				description:
					"`status: cancelled` cancels; a cancelled event cannot be scheduled again (409). A new " +
					"`startsAt` must be in the future; `endsAt` must follow the resulting start (422). " +
					"`capacity` cannot drop below the registered + confirmed participants (409). " +
					"Waitlisted participants are promoted by the event actor, not here.",
			},
		})
		.delete(
			"/:id",
			async ({ principal, params, set }) => {
				await events.remove(principal.user.id, params.id);
				set.status = 204;
			},
			{
				auth: true,
				params: EventParams,
				response: { 204: NoContent, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
				detail: { summary: "Delete an event and all its participants (owner only)" },
			},
		);
}

function participantRoutes(s: Deps, events: EventService) {
	return new Elysia({ prefix: "/api/v1/events/:id/participants", detail: registrations })
		.use(authPlugin(s.auth))
		.post(
			"",
			async ({ principal, params, set }) => {
				const participant = await events.register(principal.user.id, params.id);
				set.status = 201;
				return participant;
			},
			{
				auth: true,
				params: EventParams,
				response: { 201: ParticipantView, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
				detail: {
					summary: "Register the caller for an event",
					description:
						"Anyone who knows the event id may register. `registered` while registered + confirmed " +
						"participants are below capacity, else `waitlisted`. 409 when the caller already has a " +
						"live registration, or the event is cancelled or has started.",
				},
			},
		)
		.get("", ({ principal, params, query }) => events.participants(principal.user.id, params.id, query), {
			auth: true,
			params: EventParams,
			query: ParticipantListQuery,
			response: { 200: ParticipantPage, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 422: ErrorBody },
			detail: {
				summary: "The event's participants in registration order (owner only)",
				description:
					"404 for whoever cannot see the event (as `GET /events/{id}`); 403 for its participants, who can " +
					"see the event but not who else takes part.",
			},
		})
		.patch(
			"/:participantId",
			({ principal, params, body }) =>
				events.changeParticipant(principal.user.id, params.id, params.participantId, body.status),
			{
				auth: true,
				params: ParticipantParams,
				body: ParticipantChange,
				response: { 200: ParticipantView, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
				detail: {
					summary: "Confirm a participant or record attendance (owner only)",
					description: "Only `registered` or `confirmed` participants can change; others are 409.",
				},
			},
		)
		.delete(
			"/:participantId",
			async ({ principal, params, set }) => {
				await events.cancelParticipant(principal.user.id, params.id, params.participantId);
				set.status = 204;
			},
			{
				auth: true,
				params: ParticipantParams,
				response: { 204: NoContent, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
				detail: {
					summary: "Cancel a registration (the participant or the event's owner)",
					description:
						"Sets the status to `cancelled` and keeps the row. Idempotent: cancelling an already " +
						"cancelled participant is 204 and changes nothing. An `attended` participant is 409. " +
						"Waitlisted participants are promoted by the event actor, not here.",
				},
			},
		);
}
