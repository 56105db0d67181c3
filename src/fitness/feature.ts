/**
 * Fitness competitions (seed 003): competitions and their participants,
 * idempotent activity sync, Redis leaderboards rebuilt from Postgres, live
 * leaderboard sockets, and the competition actor (`competition:<id>`) that
 * freezes the standings and pays the prizes exactly once.
 */
import { defineFeature } from "../feature.ts";
import { createCompetitionService } from "./competitions-service.ts";
import { createLeaderboards } from "./leaderboard.ts";
import { createLeaderboardService } from "./leaderboard-service.ts";
import { fitnessRoutes } from "./routes.ts";
import { FITNESS, fitnessConfig, fitnessSettings } from "./settings.ts";
import { createSyncService } from "./sync-service.ts";

export const fitnessFeature = defineFeature({
	name: FITNESS,
	config: fitnessConfig,
	routes: ({ auth, sql, redis, config }) => {
		const settings = fitnessSettings(config);
		const boards = createLeaderboards(redis);
		const competitions = createCompetitionService({ sql, boards });
		return fitnessRoutes({
			auth,
			competitions,
			sync: createSyncService({
				sql,
				competitions,
				futureToleranceMs: settings.futureToleranceSeconds * 1000,
			}),
			leaderboards: createLeaderboardService({ sql, boards, cacheMs: settings.leaderboardCacheMs }),
		});
	},
});
