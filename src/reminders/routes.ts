/**
 * /api/v1/reminders: the caller's reminders and their actions, plus seed
 * 001's own paths (`GET/POST /api/reminders`) on the same handlers. Another
 * user's reminder answers 404, never 403.
 */
import { Elysia, t } from "elysia";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService } from "../auth/service.ts";
import { SEED_ALIAS_TAG } from "../docs/seed-alias.ts";
import {
	CreateReminderBody,
	ErrorBody,
	Preview,
	PreviewQuery,
	ReminderListQuery,
	ReminderPage,
	ReminderParams,
	ReminderView,
	SnoozeBody,
	UpdateReminderBody,
} from "./model.ts";
import type { ReminderService } from "./service.ts";

const NoContent = t.Void({ description: "done, no body" });

type Deps = { auth: AuthService };

const createDetail = {
	summary: "Create a reminder",
	description:
		"`dueAt` is a local wall time read in `timeZone` (absent or null: floating, the owner's profile zone). " +
		"`rrule` repeats it (RFC 5545), `exdates` leave occurrences out, `offsets` (≤ 5) fire before each " +
		"occurrence. A `dueAt` in the past fires at once. Unknown zone, invalid RRULE, more than five offsets " +
		"or a bad date are 422 with `details.field`.",
};
const listDetail = { summary: "The caller's reminders, oldest first", description: "Filter by `status`." };

function crud(s: Deps, reminders: ReminderService, prefix: string, tags: string[], alias: boolean) {
	const note = alias ? " (seed 001 path; same handler and bodies as /api/v1/reminders)" : "";
	return new Elysia({ prefix, detail: { tags } })
		.use(authPlugin(s.auth))
		.post(
			"",
			async ({ principal, body, set }) => {
				const reminder = await reminders.create(principal.user.id, body);
				set.status = 201;
				return reminder;
			},
			{
				auth: true,
				body: CreateReminderBody,
				response: { 201: ReminderView, 401: ErrorBody, 409: ErrorBody, 422: ErrorBody },
				detail: { ...createDetail, summary: createDetail.summary + note },
			},
		)
		.get("", ({ principal, query }) => reminders.list(principal.user.id, query), {
			auth: true,
			query: ReminderListQuery,
			response: { 200: ReminderPage, 401: ErrorBody, 422: ErrorBody },
			detail: { ...listDetail, summary: listDetail.summary + note },
		});
}

export function reminderRoutes(s: Deps, reminders: ReminderService) {
	const one = { auth: true as const, params: ReminderParams };
	const errors = { 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody };
	const action = (summary: string, description: string) => ({
		...one,
		response: { 200: ReminderView, ...errors },
		detail: { summary, description },
	});
	return new Elysia()
		.use(crud(s, reminders, "/api/v1/reminders", ["reminders"], false))
		.use(crud(s, reminders, "/api/reminders", [SEED_ALIAS_TAG], true))
		.use(
			new Elysia({ prefix: "/api/v1/reminders", detail: { tags: ["reminders"] } })
				.use(authPlugin(s.auth))
				.get("/:id", ({ principal, params }) => reminders.get(principal.user.id, params.id), {
					...one,
					response: { 200: ReminderView, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
					detail: { summary: "One reminder" },
				})
				.patch(
					"/:id",
					({ principal, params, body }) => reminders.update(principal.user.id, params.id, body),
					{
						...one,
						body: UpdateReminderBody,
						response: { 200: ReminderView, ...errors },
						detail: {
							summary: "Change a reminder, or cancel it",
							description:
								"A changed schedule starts afresh: its latest firing in the past (if any) is sent at once, " +
								"older ones are not; a completed reminder becomes active again. `status: cancelled` cancels.",
						},
					},
				)
				.delete(
					"/:id",
					async ({ principal, params, set }) => {
						await reminders.remove(principal.user.id, params.id);
						set.status = 204;
					},
					{
						...one,
						response: { 204: NoContent, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
						detail: { summary: "Delete a reminder (its actor stops; nothing more is sent)" },
					},
				)
				.post(
					"/:id/snooze",
					({ principal, params, body }) => reminders.snooze(principal.user.id, params.id, body),
					{
						...action(
							"Snooze the pending firing",
							"Give `until` or `minutes`. Only the firing `nextFireAt` shows moves; the series keeps its " +
								"schedule. 409 when the reminder is not active or nothing is pending.",
						),
						body: SnoozeBody,
					},
				)
				.post("/:id/pause", ({ principal, params }) => reminders.pause(principal.user.id, params.id), {
					...action("Pause", "Nothing fires while paused. Idempotent; 409 for completed or cancelled."),
				})
				.post("/:id/resume", ({ principal, params }) => reminders.resume(principal.user.id, params.id), {
					...action("Resume", "Firings that fell due while paused are skipped. Idempotent."),
				})
				.post("/:id/complete", ({ principal, params }) => reminders.complete(principal.user.id, params.id), {
					...action(
						"Complete",
						"A one-off reminder becomes `completed`. A recurring one completes its next occurrence only " +
							"(all of that occurrence's firings are skipped); after the last occurrence it is `completed`.",
					),
				})
				.get(
					"/:id/preview",
					({ principal, params, query }) =>
						reminders.preview(principal.user.id, params.id, query.count ?? 10),
					{
						...one,
						query: PreviewQuery,
						response: { 200: Preview, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
						detail: {
							summary: "The next firings, in UTC and local time with their offsets",
							description: "Computed from the row by the same planner the reminder's actor runs.",
						},
					},
				),
		);
}
