/** Request and response schemas of triggers (TypeBox, shown in Swagger). */
import { t } from "elysia";
import { DateTime, Limit, Offset } from "../http/schema.ts";
import { CEL_LIMITS } from "./cel.ts";
import { EventInput, Uuid } from "./sources-model.ts";

export { ErrorBody } from "../auth/model.ts";
export { IdParams } from "./sources-model.ts";

const Cel = (description: string) => t.String({ minLength: 1, maxLength: CEL_LIMITS.maxLength, description });
const Seconds = (description: string) =>
	t.Number({ exclusiveMinimum: 0, maximum: 31_536_000, description: `${description} (seconds)` });
const Url = t.String({ format: "uri", maxLength: 2048, pattern: "^https?://", description: "http(s) URL" });
const Template = t.Unknown({
	description: "JSON template: a string that is exactly `{{path}}` keeps the value's JSON type",
});

export const Clauses = t.Object(
	{
		ema: t.Optional(
			t.Object(
				{
					value: Cel("numeric CEL expression: the observation (a missing field = no observation)"),
					alpha: t.Optional(t.Number({ exclusiveMinimum: 0, maximum: 1 })),
					halfLifeSeconds: t.Optional(Seconds("half-life: α = 1 − exp(−ln 2 · Δt / halfLife)")),
					minSamples: t.Optional(t.Integer({ minimum: 1, maximum: 1_000_000 })),
				},
				{ additionalProperties: false, description: "exactly one of alpha and halfLifeSeconds" },
			),
		),
		count: t.Optional(
			t.Object(
				{
					mode: t.Union([t.Literal("sliding"), t.Literal("tumbling")]),
					windowSeconds: Seconds("window length"),
					threshold: t.Integer({ minimum: 1, maximum: 10_000 }),
					allowedLatenessSeconds: t.Optional(t.Number({ minimum: 0, maximum: 86_400 })),
					when: t.Optional(
						t.Union([t.Literal("reached"), t.Literal("below")], {
							description:
								"reached (default): fire when the window reaches threshold; below (tumbling only): fire on the window-close timer when a window closes below threshold after one that reached it",
						}),
					),
				},
				{ additionalProperties: false },
			),
		),
		hold: t.Optional(
			t.Object(
				{
					forSeconds: t.Optional(Seconds("the signal must hold this long before firing")),
					keepFiringForSeconds: t.Optional(Seconds("stay firing this long after the signal stops")),
					resolve: t.Optional(Cel("CEL: resolve only on an event where this is true")),
				},
				{ additionalProperties: false },
			),
		),
		cooldownSeconds: t.Optional(Seconds("one fire per key per period")),
		rateLimit: t.Optional(
			t.Object(
				{
					limit: t.Integer({ minimum: 1, maximum: 1_000_000 }),
					windowSeconds: t.Number({ exclusiveMinimum: 0, maximum: 86_400 }),
				},
				{
					additionalProperties: false,
					description:
						"throttle: at most `limit` action runs start per window for the trigger (later ones wait; none is dropped)",
				},
			),
		),
		debounce: t.Optional(
			t.Object(
				{
					periodSeconds: Seconds("fire once no candidate came for this long"),
					maxWaitSeconds: t.Optional(Seconds("but never wait longer than this")),
				},
				{ additionalProperties: false },
			),
		),
	},
	{ additionalProperties: false },
);

export const Action = t.Union([
	t.Object(
		{
			kind: t.Literal("webhook"),
			url: Url,
			body: t.Optional(Template),
			secret: t.Optional(
				t.String({
					minLength: 16,
					maxLength: 256,
					description:
						"HMAC key of `x-herald-signature` (absent: generated, shown once as `webhookSecret`); never returned",
				}),
			),
		},
		{ additionalProperties: false },
	),
	t.Object(
		{
			kind: t.Literal("telegram"),
			chatId: t.String({ minLength: 1, maxLength: 64 }),
			text: t.String({ minLength: 1, maxLength: 4096 }),
		},
		{ additionalProperties: false },
	),
	t.Object(
		{
			kind: t.Literal("email"),
			to: t.String({ format: "email", maxLength: 254 }),
			subject: t.String({ minLength: 1, maxLength: 200 }),
			text: t.String({ minLength: 1, maxLength: 10_000 }),
		},
		{ additionalProperties: false },
	),
	t.Object(
		{
			kind: t.Literal("mcp"),
			url: Url,
			tool: t.String({ minLength: 1, maxLength: 128 }),
			arguments: t.Optional(Template),
			token: t.Optional(
				t.String({ minLength: 1, maxLength: 4096, description: "bearer token; never returned" }),
			),
			sampleData: t.Optional(
				t.Record(t.String(), t.Unknown(), {
					description:
						"event data to render `arguments` with at save time: the tool must exist and the rendered arguments satisfy its input schema",
				}),
			),
		},
		{ additionalProperties: false },
	),
]);

const Types = t.Array(t.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 20 });
const Sources = t.Array(Uuid, { maxItems: 20, description: "empty or absent: all the owner's sources" });
const Name = t.String({ minLength: 1, maxLength: 200, pattern: "\\S" });

export const TriggerBody = t.Object(
	{
		name: Name,
		eventTypes: Types,
		sourceIds: t.Optional(Sources),
		condition: Cel("CEL over `event` and `data` (and `ema`, `ema_prev`, `ema_samples` with an EMA clause)"),
		key: t.Optional(t.Union([Cel("CEL: the state key (per agent, per user…); absent = one key"), t.Null()])),
		clauses: t.Optional(Clauses),
		action: Action,
		enabled: t.Optional(t.Boolean()),
	},
	{ additionalProperties: false },
);
export const UpdateTriggerBody = t.Partial(TriggerBody, { additionalProperties: false });

const PublicAction = t.Record(t.String(), t.Unknown(), {
	description: "the action as saved, without its token (`hasToken` says whether one is set)",
});

export const TriggerView = t.Object({
	id: t.String({ format: "uuid" }),
	name: t.String(),
	eventTypes: t.Array(t.String()),
	sourceIds: t.Array(t.String({ format: "uuid" })),
	condition: t.String(),
	key: t.Union([t.String(), t.Null()]),
	clauses: t.Record(t.String(), t.Unknown()),
	action: PublicAction,
	enabled: t.Boolean(),
	version: t.Integer({ description: "bumped whenever what decides a fire changes (its state is reset)" }),
	createdAt: t.String({ format: "date-time" }),
	updatedAt: t.String({ format: "date-time" }),
});
export const CreatedTrigger = t.Composite([
	TriggerView,
	t.Object({
		webhookSecret: t.Optional(t.String({ description: "a generated webhook signing key: shown this once" })),
	}),
]);
export const RunListQuery = t.Object({ limit: Limit(100, 20), offset: Offset });
export const RunPage = t.Object({
	items: t.Array(
		t.Object({
			fireKey: t.String({
				description: "the idempotency key of the fire; the run's workflow id is action:<fireKey>",
			}),
			firedAt: t.String({ format: "date-time" }),
			key: t.String(),
			suppressed: t.Integer(),
			payload: t.Unknown(),
			status: t.String({ description: "pending (not started yet), running, succeeded, failed" }),
			error: t.Union([t.String(), t.Null()]),
			startedAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
			finishedAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
			attempts: t.Array(
				t.Object({
					attempt: t.Integer(),
					destination: t.String(),
					outcome: t.Union([t.String(), t.Null()]),
					statusCode: t.Union([t.Integer(), t.Null()]),
					latencyMs: t.Union([t.Number(), t.Null()]),
					error: t.Union([t.String(), t.Null()]),
					startedAt: t.String(),
				}),
			),
		}),
	),
});
export const TriggerListQuery = t.Object({ limit: Limit(100, 20), offset: Offset });
export const TriggerPage = t.Object({ items: t.Array(TriggerView), total: t.Integer() });

const DryRunEvent = t.Composite([
	t.Omit(EventInput, ["externalId"]),
	t.Object({
		externalId: t.Optional(t.String({ minLength: 1, maxLength: 200 })),
		sourceId: t.Optional(Uuid),
		receivedAt: t.Optional(DateTime("the processing clock for this event (default: now)")),
	}),
]);
export const DryRunBody = t.Object(
	{
		trigger: TriggerBody,
		events: t.Array(DryRunEvent, { minItems: 1, maxItems: 100, description: "in order, from empty state" }),
	},
	{ additionalProperties: false },
);

export const DecisionView = t.Object({
	decision: t.String({
		description: "fire, condition_false, condition_error, state_unsatisfied, late, pending, …",
	}),
	at: t.String({ format: "date-time" }),
	eventSeq: t.Union([t.Integer(), t.Null()], { description: "null: decided by a timer" }),
	key: t.String(),
	reason: t.Record(t.String(), t.Unknown()),
	fireKey: t.Optional(t.String()),
	payload: t.Optional(t.Unknown()),
});
export const DryRunResult = t.Object({
	decisions: t.Array(DecisionView),
	fires: t.Integer(),
});
export const DecisionListQuery = t.Object({
	limit: Limit(500, 100),
	eventId: t.Optional(Uuid),
	afterId: t.Optional(t.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
});
export const DecisionPage = t.Object({
	items: t.Array(t.Composite([t.Object({ id: t.Integer() }), DecisionView])),
	nextAfterId: t.Optional(
		t.Integer({
			description:
				"the afterId of the next page (the largest stored row in this one; a batch row of false conditions is one id for several items)",
		}),
	),
	prefilter: t.Optional(
		t.String({ description: "with eventId: `miss` when the event's type or source is not the trigger's" }),
	),
});

export type TriggerBody = typeof TriggerBody.static;
export type UpdateTriggerBody = typeof UpdateTriggerBody.static;
export type TriggerView = typeof TriggerView.static;
export type DryRunBody = typeof DryRunBody.static;
export type DecisionView = typeof DecisionView.static;

export const BacktestBody = t.Object(
	{
		from: DateTime("events received from this instant (inclusive)"),
		to: DateTime("up to this instant (exclusive); timers fire up to it (or now, if earlier)"),
	},
	{ additionalProperties: false },
);
export const BacktestResult = t.Object({
	events: t.Integer({ description: "events replayed (at most 100,000)" }),
	truncated: t.Boolean(),
	decisions: t.Record(t.String(), t.Integer(), { description: "how many of each decision" }),
	fires: t.Array(
		t.Object({
			fireKey: t.String(),
			at: t.String({ format: "date-time" }),
			key: t.String(),
			eventSeq: t.Union([t.Integer(), t.Null()]),
			suppressed: t.Integer(),
			payload: t.Unknown({ description: "the rendered payload (preview)" }),
		}),
	),
	suppressions: t.Array(
		t.Object({
			decision: t.String({ description: "cooldown, debounced, late, action_failed" }),
			at: t.String({ format: "date-time" }),
			key: t.String(),
			eventSeq: t.Union([t.Integer(), t.Null()]),
			reason: t.Record(t.String(), t.Unknown()),
		}),
		{ description: "the first 1,000" },
	),
});
