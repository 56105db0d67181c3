/**
 * The Elysia app: the edge (request context, compression, docs, health)
 * first, then every feature's routes, in the order of `src/features.ts`.
 */
import { Elysia } from "elysia";
import { docs, publishedDocument } from "../docs/swagger.ts";
import type { ApiContext, Feature } from "../feature.ts";
import { healthRoutes } from "../health/routes.ts";
import type { HealthProbes } from "../health/service.ts";
import { compression } from "../http/compression.ts";
import { idempotency } from "../http/idempotency.ts";
import { requestContext } from "../http/request-context.ts";
import { createRouteTable, type RouteTable } from "../http/validation.ts";
import type { Logger } from "../infra/log.ts";

export interface AppDeps {
	log: Logger;
	version: string;
	corsOrigins: string[];
	bodyLimitBytes: number;
	probes: HealthProbes;
	startedAt?: number;
	/** HTTP RED metrics (default on; bench/metrics.ts measures the app without them). */
	httpMetrics?: boolean;
	/** The features' routes and what they receive; without them only the edge, docs and health are mounted. */
	features?: { context: ApiContext; list: readonly Feature[] };
}

export function createApp(deps: AppDeps) {
	let app: Elysia | undefined;
	let filled = -1;
	const table = createRouteTable();
	// Read on the first 404, so routes added after this call (tests) count too.
	const routes: RouteTable = {
		fill: table.fill,
		methodsFor(pathname) {
			if (app && filled !== app.routes.length) {
				table.fill(app.routes);
				filled = app.routes.length;
			}
			return table.methodsFor(pathname);
		},
	};
	const context = deps.features?.context;
	const built = new Elysia({ name: "herald" })
		// Before the request context: its error hook frees a failed request's key before the edge maps the error.
		.use(context ? idempotency({ sql: context.sql, auth: context.auth }) : new Elysia())
		.use(
			requestContext({
				log: deps.log,
				bodyLimitBytes: deps.bodyLimitBytes,
				corsOrigins: deps.corsOrigins,
				routes,
				metrics: deps.httpMetrics !== false,
			}),
		)
		.use(compression({ metrics: deps.httpMetrics !== false }))
		.use(docs({ version: deps.version }))
		.use(
			healthRoutes({ probes: deps.probes, version: deps.version, startedAt: deps.startedAt ?? Date.now() }),
		);
	for (const feature of deps.features?.list ?? [])
		if (feature.routes) built.use(feature.routes(deps.features!.context));
	built.use(publishedDocument((request) => built.handle(request)));
	app = built as unknown as Elysia;
	return built;
}

export type App = ReturnType<typeof createApp>;
