/** The `notifications` realtime topic: each user's new notifications (key: the user id). */

import type { Topic } from "../realtime/hub.ts";
import { parseNotificationCreated } from "../realtime/messages.ts";
import { findNotification, toNotificationView } from "./repository.ts";

export const NOTIFICATIONS_TOPIC = "notifications";

export const notificationsTopic: Topic = {
	name: NOTIFICATIONS_TOPIC,
	channels: ["notification_created"],
	async onNotify(_channel, text, topic) {
		const created = parseNotificationCreated(text);
		if (!created || !topic.has(created.userId)) return;
		const row = await findNotification(topic.sql, created.userId, created.id);
		if (row) topic.send(created.userId, { type: "notification", notification: toNotificationView(row) });
	},
};
