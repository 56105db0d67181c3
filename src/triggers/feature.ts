/**
 * Triggers and actions (seed 002): event sources with ingestion keys, the
 * ingest endpoint, triggers (CRUD, dry-run, explain, runs), the action runs
 * (`action:<fire key>`, fed by the fires' outbox rows) and retention of what
 * was ingested. The processor role (src/triggers/processor.ts) folds events.
 */
import { createTriggerActionActivities } from "../../activities/triggers/index.ts";
import { triggerActionDefinition } from "../../workflows/trigger-action.ts";
import { defineFeature, routes } from "../feature.ts";
import { createBacktestService } from "./backtest.ts";
import { purgeEvents } from "./events-repository.ts";
import { createExplainService } from "./explain.ts";
import { createIngestService } from "./ingest.ts";
import { unfinishedFires } from "./runs-repository.ts";
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
			triggerRoutes(
				auth,
				createTriggerService({
					sql,
					settings,
					mcp: {
						allowPrivate: config.delivery.webhookAllowPrivate,
						timeoutMs: config.delivery.webhookTimeoutMs,
					},
				}),
				createExplainService({ sql }),
				createBacktestService({ sql, settings }),
			),
		);
	},
	activities: ({ sql, config, outbound }) =>
		createTriggerActionActivities({
			sql,
			settings: config.delivery,
			delivery: outbound && { ...outbound, settings: config.delivery },
		}),
	actors: [
		{
			actor: triggerActionDefinition,
			tables: ["trigger_fires"],
			operations: ["INSERT"],
			liveKeys: (sql, after, limit) => unfinishedFires(sql, after, limit),
		},
	],
	cleanup: {
		"ingested-events": (sql, config) => purgeEvents(sql, triggerSettings(config).ingestRetentionDays),
	},
});
