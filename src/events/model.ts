/** Request and response schemas of events, participants and registrations (TypeBox, shown in Swagger). */
import { t } from "elysia";
import { DateTime, JsonInt, Limit, Offset } from "../http/schema.ts";

export { ErrorBody } from "../auth/model.ts";

export const MAX_CAPACITY = 100_000;
export const MAX_REMINDER_OFFSET_SECONDS = 2_592_000;
export const DEFAULT_REMINDER_OFFSETS = [86_400, 3_600];

const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
export const Uuid = t.String({ format: "uuid", pattern: UUID_PATTERN });

export const EventStatus = t.Union([t.Literal("scheduled"), t.Literal("cancelled")]);
export const ParticipantStatus = t.Union([
	t.Literal("registered"),
	t.Literal("waitlisted"),
	t.Literal("confirmed"),
	t.Literal("cancelled"),
	t.Literal("attended"),
]);

const Title = t.String({ minLength: 1, maxLength: 200, pattern: "\\S", description: "not blank" });
const Description = t.String({ maxLength: 10_000 });
const Location = t.String({ maxLength: 500 });
const Capacity = JsonInt({ minimum: 1, maximum: MAX_CAPACITY, examples: [50] });
const ReminderOffsets = t.Array(JsonInt({ minimum: 1, maximum: MAX_REMINDER_OFFSET_SECONDS }), {
	maxItems: 10,
	uniqueItems: true,
	description: "Seconds before the start at which participants are reminded; stored largest first.",
	examples: [DEFAULT_REMINDER_OFFSETS],
});

export const EventView = t.Object({
	id: t.String({ format: "uuid" }),
	ownerId: t.String({ format: "uuid" }),
	title: t.String(),
	description: t.String(),
	startsAt: t.String({ format: "date-time" }),
	endsAt: t.String({ format: "date-time" }),
	location: t.String(),
	capacity: t.Integer(),
	status: EventStatus,
	reminderOffsets: t.Array(t.Integer()),
	createdAt: t.String({ format: "date-time" }),
	updatedAt: t.String({ format: "date-time" }),
});

export const CreateEventBody = t.Object({
	title: Title,
	description: t.Optional(Description),
	startsAt: DateTime("must be in the future"),
	endsAt: DateTime("must be after startsAt", "2030-05-01T20:00:00Z"),
	location: t.Optional(Location),
	capacity: Capacity,
	reminderOffsets: t.Optional(ReminderOffsets),
});

export const UpdateEventBody = t.Object({
	title: t.Optional(Title),
	description: t.Optional(Description),
	startsAt: t.Optional(DateTime("must be in the future")),
	endsAt: t.Optional(DateTime("must be after the (new or current) startsAt", "2030-05-01T20:00:00Z")),
	location: t.Optional(Location),
	capacity: t.Optional(
		JsonInt({
			minimum: 1,
			maximum: MAX_CAPACITY,
			description: "not below the number of registered + confirmed participants",
		}),
	),
	reminderOffsets: t.Optional(ReminderOffsets),
	status: t.Optional(
		t.Union([t.Literal("scheduled"), t.Literal("cancelled")], {
			description: "`cancelled` cancels the event; a cancelled event cannot be scheduled again",
		}),
	),
});

const Page = {
	limit: Limit(100, 20),
	offset: Offset,
};

export const EventListQuery = t.Object({
	...Page,
	from: t.Optional(DateTime("events starting at or after this instant")),
	to: t.Optional(DateTime("events starting before this instant")),
	status: t.Optional(EventStatus),
});

export const EventPage = t.Object({ items: t.Array(EventView), total: t.Integer() });

export const EventParams = t.Object({ id: Uuid });
export const ParticipantParams = t.Object({ id: Uuid, participantId: Uuid });

export const ParticipantView = t.Object({
	id: t.String({ format: "uuid" }),
	eventId: t.String({ format: "uuid" }),
	userId: t.String({ format: "uuid" }),
	status: ParticipantStatus,
	createdAt: t.String({ format: "date-time" }),
	updatedAt: t.String({ format: "date-time" }),
});

export const ParticipantListQuery = t.Object({ ...Page, status: t.Optional(ParticipantStatus) });
export const ParticipantPage = t.Object({
	items: t.Array(t.Composite([ParticipantView, t.Object({ displayName: t.String() })])),
	total: t.Integer(),
});

export const ParticipantChange = t.Object({
	status: t.Union([t.Literal("confirmed"), t.Literal("attended")], {
		description: "only from `registered` or `confirmed`",
	}),
});

export const RegistrationQuery = t.Object({ ...Page, status: t.Optional(ParticipantStatus) });
export const RegistrationPage = t.Object({
	items: t.Array(
		t.Composite([
			ParticipantView,
			t.Object({
				event: t.Object({
					id: t.String({ format: "uuid" }),
					title: t.String(),
					startsAt: t.String({ format: "date-time" }),
					endsAt: t.String({ format: "date-time" }),
					status: EventStatus,
				}),
			}),
		]),
	),
	total: t.Integer(),
});

export type EventStatus = typeof EventStatus.static;
export type ParticipantStatus = typeof ParticipantStatus.static;
export type EventView = typeof EventView.static;
export type ParticipantView = typeof ParticipantView.static;
export type CreateEventBody = typeof CreateEventBody.static;
export type UpdateEventBody = typeof UpdateEventBody.static;
export type EventListQuery = typeof EventListQuery.static;
export type ParticipantListQuery = typeof ParticipantListQuery.static;
export type RegistrationQuery = typeof RegistrationQuery.static;
