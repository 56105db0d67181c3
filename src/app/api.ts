/** The Elysia app: cross-cutting plugins first, then one plugin per feature. */
import { Elysia } from "elysia";
import { adminRoutes } from "../admin/routes.ts";
import { authRoutes, jwksRoute } from "../auth/routes.ts";
import { channelRoutes } from "../channels/routes.ts";
import { circuitRoutes } from "../deliveries/circuits-routes.ts";
import { deliveryRoutes } from "../deliveries/routes.ts";
import { docs } from "../docs/swagger.ts";
import { eventRoutes } from "../events/routes.ts";
import { healthRoutes } from "../health/routes.ts";
import type { HealthProbes } from "../health/service.ts";
import { compression } from "../http/compression.ts";
import { requestContext } from "../http/request-context.ts";
import type { Logger } from "../infra/log.ts";
import { notificationRoutes } from "../notifications/routes.ts";
import { realtimeRoutes } from "../realtime/routes.ts";
import { userRoutes } from "../users/routes.ts";
import type { ApiServices } from "./services.ts";

export interface AppDeps {
	log: Logger;
	version: string;
	corsOrigins: string[];
	bodyLimitBytes: number;
	probes: HealthProbes;
	startedAt?: number;
	/** The feature routes' services; without them only the edge, docs and health are mounted. */
	services?: ApiServices;
}

export function createApp(deps: AppDeps) {
	const origins = deps.corsOrigins;
	const edge = new Elysia({ name: "herald" })
		.use(requestContext({ log: deps.log, bodyLimitBytes: deps.bodyLimitBytes, corsOrigins: origins }))
		.use(compression)
		.use(docs({ version: deps.version }))
		.use(
			healthRoutes({ probes: deps.probes, version: deps.version, startedAt: deps.startedAt ?? Date.now() }),
		);
	return deps.services ? edge.use(features(deps.services)) : edge;
}

function features(s: ApiServices) {
	return new Elysia({ name: "herald/features" })
		.use(jwksRoute(s.tokens))
		.use(authRoutes({ auth: s.auth, limiter: s.limiter, tokens: s.tokens, trustProxy: s.trustProxy }))
		.use(userRoutes(s))
		.use(adminRoutes(s))
		.use(notificationRoutes(s))
		.use(realtimeRoutes(s))
		.use(eventRoutes(s))
		.use(circuitRoutes(s))
		.use(channelRoutes(s))
		.use(deliveryRoutes(s, s.deliveries));
}

export type App = ReturnType<typeof createApp>;
