/** The Elysia app: cross-cutting plugins first, then one plugin per feature. */
import { cors } from "@elysiajs/cors";
import { Elysia } from "elysia";
import { docs } from "../docs/swagger.ts";
import { healthRoutes } from "../health/routes.ts";
import type { HealthProbes } from "../health/service.ts";
import type { Logger } from "../infra/log.ts";
import { compression } from "./compression.ts";
import { requestContext } from "./request-context.ts";

export interface AppDeps {
	log: Logger;
	version: string;
	corsOrigins: string[];
	bodyLimitBytes: number;
	probes: HealthProbes;
	startedAt?: number;
}

export function createApp(deps: AppDeps) {
	const origins = deps.corsOrigins;
	return new Elysia({ name: "herald" })
		.use(requestContext({ log: deps.log, bodyLimitBytes: deps.bodyLimitBytes }))
		.use(cors({ origin: origins.includes("*") ? true : origins, exposeHeaders: ["x-request-id"] }))
		.use(compression)
		.use(docs({ version: deps.version }))
		.use(
			healthRoutes({ probes: deps.probes, version: deps.version, startedAt: deps.startedAt ?? Date.now() }),
		);
}

export type App = ReturnType<typeof createApp>;
