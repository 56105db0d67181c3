/**
 * Notification deliveries: their records API, the delivery workflow's
 * activities (plan, deliver through the outbound transport, give up), and the
 * administrators' view of the destination circuits.
 */
import { createDeliveryActivities } from "../../activities/deliveries/index.ts";
import { defineFeature, routes } from "../feature.ts";
import { circuitRoutes } from "./circuits-routes.ts";
import { deliveryRoutes } from "./routes.ts";
import { createDeliveryService } from "./service.ts";

export const deliveriesFeature = defineFeature({
	name: "deliveries",
	routes: ({ auth, sql, guard }) =>
		routes(
			deliveryRoutes({ auth, deliveries: createDeliveryService({ sql }) }),
			circuitRoutes({ auth, guard }),
		),
	activities: ({ sql, config, outbound }) =>
		createDeliveryActivities({
			sql,
			settings: config.delivery,
			delivery: outbound && { ...outbound, settings: config.delivery },
		}),
});
