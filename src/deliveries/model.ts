/** Response schemas of the deliveries API (TypeBox, shown in Swagger). */
import { t } from "elysia";
import { Limit, Offset } from "../http/schema.ts";

export { ErrorBody } from "../auth/model.ts";

export const DeliveryStatus = t.Union([t.Literal("pending"), t.Literal("delivered"), t.Literal("failed")]);

export const AttemptView = t.Object({
	attempt: t.Integer({ description: "Temporal's attempt number, from 1" }),
	destination: t.String({ description: "the webhook's origin, `mailto:` address or `telegram:` chat" }),
	outcome: t.Nullable(
		t.Union(
			[
				t.Literal("ok"),
				t.Literal("retryable"),
				t.Literal("permanent"),
				t.Literal("circuit_open"),
				t.Literal("rate_limited"),
			],
			{ description: "null: in flight, or the worker stopped mid-attempt" },
		),
	),
	statusCode: t.Nullable(t.Integer()),
	latencyMs: t.Nullable(t.Integer()),
	error: t.Nullable(t.String({ description: "without secrets" })),
	createdAt: t.String({ format: "date-time" }),
});

export const DeliveryView = t.Object({
	id: t.String({ format: "uuid" }),
	notificationId: t.String({ format: "uuid" }),
	channelId: t.String({ format: "uuid" }),
	channelKind: t.Union([t.Literal("webhook"), t.Literal("email"), t.Literal("telegram")]),
	channelName: t.String(),
	status: DeliveryStatus,
	idempotencyKey: t.String({ description: "sent with every attempt; receivers deduplicate on it" }),
	attemptCount: t.Integer(),
	lastError: t.Nullable(t.String()),
	createdAt: t.String({ format: "date-time" }),
	deliveredAt: t.Nullable(t.String({ format: "date-time" })),
	attempts: t.Array(AttemptView, { description: "oldest first" }),
});

export const DeliveryQuery = t.Object({
	status: t.Optional(DeliveryStatus),
	limit: Limit(100, 20),
	offset: Offset,
});

export const DeliveryPage = t.Object({ items: t.Array(DeliveryView), total: t.Integer() });

export type DeliveryView = typeof DeliveryView.static;
export type AttemptView = typeof AttemptView.static;
export type DeliveryQuery = typeof DeliveryQuery.static;
