/** TypeBox schemas of the notifications API (validation and OpenAPI). */
import { t } from "elysia";
import { Limit, Offset } from "../http/schema.ts";

export const NotificationView = t.Object({
	id: t.String({ format: "uuid" }),
	kind: t.String({ examples: ["event.reminder"] }),
	title: t.String(),
	body: t.String(),
	data: t.Record(t.String(), t.Unknown(), { description: "kind-specific details, e.g. the event id" }),
	createdAt: t.String({ format: "date-time" }),
	readAt: t.Nullable(t.String({ format: "date-time" })),
});

export const NotificationPage = t.Object({
	items: t.Array(NotificationView),
	total: t.Integer({ description: "notifications matching the filter" }),
	unread: t.Integer({ description: "all unread notifications of the caller" }),
});

export const ListQuery = t.Object({
	unread: t.Optional(t.Boolean({ description: "only unread notifications" })),
	limit: Limit(200, 50),
	offset: Offset,
});

export const NotificationId = t.Object({ id: t.String({ format: "uuid" }) });

export const ReadAllResult = t.Object({
	updated: t.Integer({ description: "notifications newly marked read" }),
});
