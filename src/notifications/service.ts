/** The signed-in user's inbox: list, mark one read, mark all read. */
import { NotFound } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import {
	countNotifications,
	listNotifications,
	markAllNotificationsRead,
	markNotificationRead,
	type NotificationRow,
} from "./repository.ts";

export interface NotificationPage {
	items: NotificationRow[];
	/** Matching the filter (all, or unread only). */
	total: number;
	/** All of the user's unread notifications, whatever the filter. */
	unread: number;
}

export function createNotificationService(deps: { sql: Sql }) {
	const { sql } = deps;
	return {
		async list(
			userId: string,
			options: { unreadOnly: boolean; limit: number; offset: number },
		): Promise<NotificationPage> {
			const [items, counts] = await Promise.all([
				listNotifications(sql, userId, options),
				countNotifications(sql, userId),
			]);
			return { items, total: options.unreadOnly ? counts.unread : counts.total, unread: counts.unread };
		},

		/** 404 for someone else's notification: its existence is not revealed. */
		async markRead(userId: string, id: string): Promise<NotificationRow> {
			const row = await markNotificationRead(sql, userId, id);
			if (!row) throw new NotFound("notification");
			return row;
		},

		markAllRead: (userId: string): Promise<number> => markAllNotificationsRead(sql, userId),
	};
}

export type NotificationService = ReturnType<typeof createNotificationService>;
