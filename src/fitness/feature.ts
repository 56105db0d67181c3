/**
 * Fitness competitions (seed 003): competitions and their participants,
 * idempotent activity sync, Redis leaderboards rebuilt from Postgres, live
 * leaderboard sockets, and the competition actor (`competition:<id>`) that
 * freezes the standings and pays the prizes exactly once.
 */
import { createFitnessActivities } from "../../activities/fitness/index.ts";
import { competitionActorDefinition } from "../../workflows/competition.ts";
import { defineFeature, routes } from "../feature.ts";
import { createCompetitionService } from "./competitions-service.ts";
import { createDisputeService } from "./disputes-service.ts";
import { createLeaderboards } from "./leaderboard.ts";
import { createLeaderboardService } from "./leaderboard-service.ts";
import { leaderboardTopic } from "./leaderboard-topic.ts";
import { prizeRoutes } from "./prize-routes.ts";
import { createPrizeService } from "./prizes-service.ts";
import { fitnessRoutes } from "./routes.ts";
import { FITNESS, fitnessConfig, fitnessSettings } from "./settings.ts";
import { leaderboardSocketRoute } from "./socket-route.ts";
import { createStatsService } from "./stats-service.ts";
import { createSyncService } from "./sync-service.ts";

export const fitnessFeature = defineFeature({
	name: FITNESS,
	config: fitnessConfig,
	routes: ({ auth, sql, redis, config, sockets }) => {
		const settings = fitnessSettings(config);
		const boards = createLeaderboards(redis);
		const competitions = createCompetitionService({ sql, boards });
		const disputeWindowMs = settings.disputeWindowSeconds * 1000;
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
				stats: createStatsService({ sql }),
			}),
			leaderboardSocketRoute({
				sql,
				sockets,
				boards,
				maxBufferedBytes: settings.leaderboardSocketMaxBufferedBytes,
			}),
			prizeRoutes({
				auth,
				sql,
				prizes: createPrizeService({ sql, disputeWindowMs }),
				disputes: createDisputeService({ sql, competitions, disputeWindowMs }),
			}),
		);
	},
	activities: (ctx) => createFitnessActivities(ctx),
	actors: [
		{
			actor: competitionActorDefinition,
			tables: ["competitions"],
			// The actor ends when its competition is a draft, settled, cancelled or deleted.
			liveKeys: async (sql, after, limit) => {
				const rows = await sql<{ id: string }[]>`
					select id::text from competitions
					where status in ('open', 'running', 'finished', 'distributing') and id::text > ${after}
					order by id::text limit ${limit}`;
				return rows.map((r) => r.id);
			},
		},
	],
	topics: ({ redis, config }) => [
		leaderboardTopic({
			boards: createLeaderboards(redis),
			intervalMs: fitnessSettings(config).leaderboardPushIntervalMs,
		}),
	],
});
