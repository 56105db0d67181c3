/** Where a user's notifications go: webhook, email (verified), Telegram. */
import { defineFeature } from "../feature.ts";
import { channelRoutes } from "./routes.ts";
import { createChannelService } from "./service.ts";

export const channelsFeature = defineFeature({
	name: "channels",
	routes: ({ auth, sql, senders, config, log }) =>
		channelRoutes({
			auth,
			channels: createChannelService({
				sql,
				email: senders.email,
				webhookAllowPrivate: config.delivery.webhookAllowPrivate,
				log,
			}),
		}),
});
