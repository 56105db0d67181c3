/**
 * Triggers and actions (seed 002): event sources with ingestion keys, the
 * ingest endpoint, and retention of what was ingested.
 */
import { defineFeature, routes } from "../feature.ts";
import { purgeEvents } from "./events-repository.ts";
import { createExplainService } from "./explain.ts";
import { createIngestService } from "./ingest.ts";
import { TRIGGERS, triggerSettings, triggersConfig } from "./settings.ts";
import { ingestRoutes, sourceRoutes } from "./sources-routes.ts";
import { createSourceService } from "./sources-service.ts";
import { triggerRoutes } from "./triggers-routes.ts";
import { createTriggerService } from "./triggers-service.ts";

export const triggersFeature = defineFeature({
	name: TRIGGERS,
	config: triggersConfig,
	routes: ({ auth, sql, config, runtime, log }) => {
		const settings = triggerSettings(config);
		return routes(
			sourceRoutes(auth, createSourceService({ sql })),
			ingestRoutes(createIngestService({ sql, settings, runtime, log })),
			triggerRoutes(auth, createTriggerService({ sql, settings }), createExplainService({ sql })),
		);
	},
	cleanup: {
		"ingested-events": (sql, config) => purgeEvents(sql, triggerSettings(config).ingestRetentionDays),
	},
});
