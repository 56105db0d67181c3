/**
 * Fitness competitions (seed 003): competitions and their participants,
 * idempotent activity sync, Redis leaderboards rebuilt from Postgres, live
 * leaderboard sockets, and the competition actor (`competition:<id>`) that
 * freezes the standings and pays the prizes exactly once.
 */
import { defineFeature, routes } from "../feature.ts";
import { createCompetitionService } from "./competitions-service.ts";
import { createLeaderboards } from "./leaderboard.ts";
import { createLeaderboardService } from "./leaderboard-service.ts";
import { leaderboardTopic } from "./leaderboard-topic.ts";
import { fitnessRoutes } from "./routes.ts";
import { FITNESS, fitnessConfig, fitnessSettings } from "./settings.ts";
import { leaderboardSocketRoute } from "./socket-route.ts";
import { createSyncService } from "./sync-service.ts";

export const fitnessFeature = defineFeature({
	name: FITNESS,
	config: fitnessConfig,
	routes: ({ auth, sql, redis, config, sockets }) => {
		const settings = fitnessSettings(config);
		const boards = createLeaderboards(redis);
		const competitions = createCompetitionService({ sql, boards });
		return routes(
			fitnessRoutes({
				auth,
				competitions,
				sync: createSyncService({
					sql,
					competitions,
					futureToleranceMs: settings.futureToleranceSeconds * 1000,
				}),
				leaderboards: createLeaderboardService({ sql, boards, cacheMs: settings.leaderboardCacheMs }),
			}),
			leaderboardSocketRoute({
				sql,
				sockets,
				boards,
				maxBufferedBytes: settings.leaderboardSocketMaxBufferedBytes,
			}),
		);
	},
	topics: ({ redis, config }) => [
		leaderboardTopic({
			boards: createLeaderboards(redis),
			intervalMs: fitnessSettings(config).leaderboardPushIntervalMs,
		}),
	],
});
