import { Elysia } from "elysia";
import { ErrorBody } from "../auth/model.ts";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService } from "../auth/service.ts";
import { ListQuery, NotificationId, NotificationPage, NotificationView, ReadAllResult } from "./model.ts";
import { toNotificationView } from "./repository.ts";
import type { NotificationService } from "./service.ts";

export function notificationRoutes(deps: { auth: AuthService; notifications: NotificationService }) {
	const { notifications } = deps;
	return new Elysia({ prefix: "/api/v1/notifications", detail: { tags: ["notifications"] } })
		.use(authPlugin(deps.auth))
		.get(
			"",
			async ({ principal, query }) => {
				const page = await notifications.list(principal.user.id, {
					unreadOnly: query.unread ?? false,
					limit: query.limit ?? 50,
					offset: query.offset ?? 0,
				});
				return { ...page, items: page.items.map(toNotificationView) };
			},
			{
				auth: true,
				query: ListQuery,
				response: { 200: NotificationPage, 401: ErrorBody, 422: ErrorBody },
				detail: {
					summary: "The caller's notifications, newest first",
					description:
						"`total` counts what matches the filter; `unread` is always the caller's unread count. " +
						"New notifications are also pushed live on the `/ws/notifications` WebSocket.",
				},
			},
		)
		.post(
			"/read-all",
			async ({ principal }) => ({ updated: await notifications.markAllRead(principal.user.id) }),
			{
				auth: true,
				response: { 200: ReadAllResult, 401: ErrorBody },
				detail: { summary: "Mark all of the caller's notifications read" },
			},
		)
		.post(
			"/:id/read",
			async ({ principal, params }) =>
				toNotificationView(await notifications.markRead(principal.user.id, params.id)),
			{
				auth: true,
				params: NotificationId,
				response: { 200: NotificationView, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
				detail: {
					summary: "Mark one notification read",
					description: "Idempotent: reading it again keeps the first `readAt`. Another user's id is 404.",
				},
			},
		);
}
