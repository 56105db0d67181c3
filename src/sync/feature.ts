/**
 * Multi-device sync (seed 001): push and pull over the debts' and reminders'
 * rows (contacts, transactions, reminders), pokes on `/ws/sync`, and the
 * daily purge of old tombstones.
 */
import { defineFeature } from "../feature.ts";
import { pushEdge } from "./edge.ts";
import { createPullService } from "./pull-service.ts";
import { createPushService } from "./push-service.ts";
import { purgeTombstones } from "./repository.ts";
import { syncRoutes } from "./routes.ts";
import { SYNC, syncConfig, syncSettings } from "./settings.ts";
import { syncTopic } from "./topic.ts";

export const syncFeature = defineFeature({
	name: SYNC,
	config: syncConfig,
	routes: ({ auth, sql, log, config, sockets }) => {
		const settings = syncSettings(config);
		return syncRoutes({
			auth,
			sockets,
			push: createPushService({ sql, log, edge: pushEdge, settings }),
			pull: createPullService({ sql, settings }),
		});
	},
	topics: [syncTopic],
	cleanup: {
		/** Tombstones past the retention; a cookie older than the purge point then gets a full snapshot. */
		"sync-tombstones": (sql, config) => purgeTombstones(sql, syncSettings(config).tombstoneRetentionDays),
	},
});
