/** Request and response schemas of reminders (TypeBox, shown in Swagger). */
import { t } from "elysia";
import { DateTime, JsonInt, Limit, Offset } from "../http/schema.ts";
import { MAX_OFFSETS } from "./recurrence.ts";

export { ErrorBody } from "../auth/model.ts";

const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
const Uuid = t.String({ format: "uuid", pattern: UUID_PATTERN });
const WALL_PATTERN = "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2})?$";

export const ReminderStatus = t.Union([
	t.Literal("active"),
	t.Literal("paused"),
	t.Literal("completed"),
	t.Literal("cancelled"),
]);

const Title = t.String({ minLength: 1, maxLength: 200, pattern: "\\S", description: "not blank" });
const Notes = t.String({ maxLength: 10_000 });
const LocalTime = (description: string, example = "2030-05-01T09:00") =>
	t.String({ pattern: WALL_PATTERN, maxLength: 19, description, examples: [example] });
const Zone = t.String({
	minLength: 1,
	maxLength: 64,
	description: "IANA time zone; null or absent = floating (follows the owner's profile time zone)",
	examples: ["Europe/Berlin"],
});
const Rrule = t.String({
	minLength: 1,
	maxLength: 500,
	description:
		"RFC 5545 RRULE value (FREQ=HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY, INTERVAL, COUNT, UNTIL, BY…, WKST); null = once",
	examples: ["FREQ=WEEKLY;BYDAY=MO"],
});
const Exdates = t.Array(LocalTime("an occurrence (local wall time) the series leaves out"), {
	maxItems: 100,
});
const Offsets = t.Array(t.String({ minLength: 2, maxLength: 32, examples: ["P1D"] }), {
	maxItems: 50,
	description: `At most ${MAX_OFFSETS} ISO 8601 durations (weeks, days, hours, minutes) before each occurrence; [] = at it. "P1D" = the day before at the same wall time.`,
	examples: [["P1D", "PT0S"]],
});

export const ReminderView = t.Object({
	id: t.String({ format: "uuid" }),
	ownerId: t.String({ format: "uuid" }),
	title: t.String(),
	notes: t.String(),
	subjectContactId: t.Union([t.String({ format: "uuid" }), t.Null()]),
	subjectTransactionId: t.Union([t.String({ format: "uuid" }), t.Null()]),
	dueAt: t.String({ description: "the first occurrence, local wall time" }),
	timeZone: t.Union([t.String(), t.Null()], { description: "null = floating" }),
	followDueDate: t.Boolean(),
	rrule: t.Union([t.String(), t.Null()]),
	exdates: t.Array(t.String()),
	offsets: t.Array(t.String()),
	status: ReminderStatus,
	snoozedUntil: t.Union([t.String({ format: "date-time" }), t.Null()]),
	nextFireAt: t.Union([t.String({ format: "date-time" }), t.Null()], {
		description: "derived by the reminder's actor (null until it has planned, and when nothing is due)",
	}),
	lastFiredAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
	createdAt: t.String({ format: "date-time" }),
	updatedAt: t.String({ format: "date-time" }),
});

export const CreateReminderBody = t.Object({
	id: t.Optional(Uuid),
	title: Title,
	notes: t.Optional(Notes),
	subjectContactId: t.Optional(t.Union([Uuid, t.Null()])),
	subjectTransactionId: t.Optional(t.Union([Uuid, t.Null()])),
	dueAt: t.Optional(
		LocalTime("the first occurrence as local wall time (no offset); required unless followDueDate"),
	),
	followDueDate: t.Optional(
		t.Boolean({ description: "the first occurrence's date is the subject transaction's due date" }),
	),
	dueTime: t.Optional(
		t.String({
			pattern: "^\\d{2}:\\d{2}$",
			description: "with followDueDate: the local time (default 09:00)",
		}),
	),
	timeZone: t.Optional(t.Union([Zone, t.Null()])),
	rrule: t.Optional(t.Union([Rrule, t.Null()])),
	exdates: t.Optional(Exdates),
	offsets: t.Optional(Offsets),
});

export const UpdateReminderBody = t.Object({
	title: t.Optional(Title),
	notes: t.Optional(Notes),
	subjectContactId: t.Optional(t.Union([Uuid, t.Null()])),
	subjectTransactionId: t.Optional(t.Union([Uuid, t.Null()])),
	dueAt: t.Optional(
		LocalTime("a new first occurrence (may lie in the past: the latest past firing is sent at once)"),
	),
	followDueDate: t.Optional(t.Boolean()),
	dueTime: t.Optional(t.String({ pattern: "^\\d{2}:\\d{2}$" })),
	timeZone: t.Optional(t.Union([Zone, t.Null()])),
	rrule: t.Optional(t.Union([Rrule, t.Null()])),
	exdates: t.Optional(Exdates),
	offsets: t.Optional(Offsets),
	status: t.Optional(t.Literal("cancelled", { description: "cancels: nothing more is sent" })),
});

export const SnoozeBody = t.Object({
	until: t.Optional(DateTime("the pending firing is sent at this instant instead")),
	minutes: t.Optional(
		JsonInt({ minimum: 1, maximum: 525_600, description: "or: this many minutes from now" }),
	),
});

export const ReminderListQuery = t.Object({
	limit: Limit(100, 20),
	offset: Offset,
	status: t.Optional(ReminderStatus),
});

export const ReminderPage = t.Object({ items: t.Array(ReminderView), total: t.Integer() });
export const ReminderParams = t.Object({ id: Uuid });
export const PreviewQuery = t.Object({
	count: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 10, description: "how many firings" })),
});

export const Preview = t.Object({
	reminderId: t.String({ format: "uuid" }),
	timeZone: t.String({
		description: "the zone the firings are computed in (a floating reminder's: the owner's)",
	}),
	status: ReminderStatus,
	items: t.Array(
		t.Object({
			firing: t.String({ description: "the key of its notification: reminder:<id>:<firing>" }),
			occurrence: t.String({ description: "the occurrence's requested local wall time" }),
			offset: t.Union([t.String(), t.Null()]),
			fireAt: t.String({ format: "date-time", description: "UTC" }),
			local: t.String({ description: "local time with its UTC offset" }),
			utcOffset: t.String({ examples: ["+02:00"] }),
			snoozed: t.Boolean(),
		}),
	),
});

export type ReminderView = typeof ReminderView.static;
export type CreateReminderBody = typeof CreateReminderBody.static;
export type UpdateReminderBody = typeof UpdateReminderBody.static;
export type SnoozeBody = typeof SnoozeBody.static;
export type ReminderListQuery = typeof ReminderListQuery.static;
export type Preview = typeof Preview.static;
