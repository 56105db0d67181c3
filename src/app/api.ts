/**
 * The Elysia app: the edge (request context, compression, docs, health)
 * first, then every feature's routes, in the order of `src/features.ts`.
 */
import { Elysia } from "elysia";
import { docs } from "../docs/swagger.ts";
import type { ApiContext, Feature } from "../feature.ts";
import { healthRoutes } from "../health/routes.ts";
import type { HealthProbes } from "../health/service.ts";
import { compression } from "../http/compression.ts";
import { requestContext } from "../http/request-context.ts";
import type { Logger } from "../infra/log.ts";

export interface AppDeps {
	log: Logger;
	version: string;
	corsOrigins: string[];
	bodyLimitBytes: number;
	probes: HealthProbes;
	startedAt?: number;
	/** The features' routes and what they receive; without them only the edge, docs and health are mounted. */
	features?: { context: ApiContext; list: readonly Feature[] };
}

export function createApp(deps: AppDeps) {
	const app = new Elysia({ name: "herald" })
		.use(
			requestContext({ log: deps.log, bodyLimitBytes: deps.bodyLimitBytes, corsOrigins: deps.corsOrigins }),
		)
		.use(compression)
		.use(docs({ version: deps.version }))
		.use(
			healthRoutes({ probes: deps.probes, version: deps.version, startedAt: deps.startedAt ?? Date.now() }),
		);
	for (const feature of deps.features?.list ?? [])
		if (feature.routes) app.use(feature.routes(deps.features!.context));
	return app;
}

export type App = ReturnType<typeof createApp>;
