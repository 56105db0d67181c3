/** The in-app inbox, and its live topic (`/ws/notifications`). */
import { defineFeature, routes } from "../feature.ts";
import { notificationRoutes } from "./routes.ts";
import { createNotificationService } from "./service.ts";
import { notificationSocketRoute } from "./socket-route.ts";
import { notificationsTopic } from "./topic.ts";

export const notificationsFeature = defineFeature({
	name: "notifications",
	routes: ({ auth, sql, sockets }) =>
		routes(
			notificationRoutes({ auth, notifications: createNotificationService({ sql }) }),
			notificationSocketRoute({ sockets }),
		),
	topics: [notificationsTopic],
});
