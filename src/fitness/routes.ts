/**
 * Fitness competitions (seed 003): `/api/v1/competitions` (CRUD, join,
 * leave), `POST /api/v1/fitness/sync` and `GET /api/v1/leaderboard/:competition_id`.
 * A draft of another organiser answers 404, as a missing competition does.
 */
import { Elysia, t } from "elysia";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService } from "../auth/service.ts";
import type { CompetitionService } from "./competitions-service.ts";
import type { LeaderboardService } from "./leaderboard-service.ts";
import {
	CompetitionIdParams,
	CompetitionListQuery,
	CompetitionPage,
	CompetitionParams,
	CompetitionView,
	CreateCompetitionBody,
	ErrorBody,
	LeaderboardQuery,
	LeaderboardView,
	ParticipantParams,
	StatsParams,
	StatsQuery,
	StatsView,
	SyncBody,
	SyncResult,
	UpdateCompetitionBody,
} from "./model.ts";
import type { createStatsService } from "./stats-service.ts";
import type { createSyncService } from "./sync-service.ts";

const NoContent = t.Void({ description: "done, no body" });

export interface FitnessRouteDeps {
	auth: AuthService;
	competitions: CompetitionService;
	sync: ReturnType<typeof createSyncService>;
	leaderboards: LeaderboardService;
	stats: ReturnType<typeof createStatsService>;
}

/** What an organiser's change of a competition may answer besides success. */
const organiserErrors = { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody };

export function competitionRoutes(d: FitnessRouteDeps) {
	const { competitions } = d;
	const one = { auth: true as const, params: CompetitionParams };
	return new Elysia({ prefix: "/api/v1/competitions", detail: { tags: ["competitions"] } })
		.use(authPlugin(d.auth))
		.post(
			"",
			async ({ principal, body, set }) => {
				const view = await competitions.create(principal.user.id, body);
				set.status = 201;
				return view;
			},
			{
				auth: true,
				body: CreateCompetitionBody,
				response: { 201: CompetitionView, 401: ErrorBody, 422: ErrorBody },
				detail: {
					summary: "Create a competition (a draft; the caller organises it)",
					description:
						"Publish it with `PATCH {status: open}`. Its actor (`competition:<id>`) starts it at `startsAt`, " +
						"ends it at `endsAt`, freezes the standings after the grace period and calculates the prizes.",
				},
			},
		)
		.get("", ({ principal, query }) => competitions.list(principal.user.id, query), {
			auth: true,
			query: CompetitionListQuery,
			response: { 200: CompetitionPage, 401: ErrorBody, 422: ErrorBody },
			detail: { summary: "Published competitions and the caller's own drafts, oldest first" },
		})
		.get("/:id", ({ principal, params }) => competitions.get(principal.user.id, params.id), {
			...one,
			response: { 200: CompetitionView, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
			detail: { summary: "One competition" },
		})
		.patch("/:id", ({ principal, params, body }) => competitions.update(principal.user.id, params.id, body), {
			...one,
			body: UpdateCompetitionBody,
			response: { 200: CompetitionView, ...organiserErrors },
			detail: {
				summary: "Change, publish or cancel a competition (organiser)",
				description: "Dates and the payout table change only in a draft; the prize pool until the end.",
			},
		})
		.delete(
			"/:id",
			async ({ principal, params, set }) => {
				await competitions.remove(principal.user.id, params.id);
				set.status = 204;
			},
			{
				...one,
				response: { 204: NoContent, ...organiserErrors },
				detail: { summary: "Delete a draft or cancelled competition (organiser)" },
			},
		)
		.post("/:id/join", ({ principal, params }) => competitions.join(principal.user.id, params.id), {
			...one,
			response: { 200: CompetitionView, ...organiserErrors },
			detail: {
				summary: "Join (idempotent)",
				description:
					"While open or running and not full (409), unless the organiser removed the caller (403). " +
					"Records already synced for the window count.",
			},
		})
		.post(
			"/:id/leave",
			async ({ principal, params, set }) => {
				await competitions.leave(principal.user.id, params.id);
				set.status = 204;
			},
			{
				...one,
				response: { 204: NoContent, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
				detail: { summary: "Leave before the end (idempotent); the leaderboard drops the caller" },
			},
		)
		.delete(
			"/:id/participants/:userId",
			async ({ principal, params, set }) => {
				await competitions.removeParticipant(principal.user.id, params.id, params.userId);
				set.status = 204;
			},
			{
				auth: true,
				params: ParticipantParams,
				response: { 204: NoContent, ...organiserErrors },
				detail: {
					summary: "Remove a participant (organiser; before the end)",
					description:
						"The participant leaves the leaderboard at once and cannot join again; an audit row " +
						"`participant_removed` records who removed whom. Not a participant: 404. After the end " +
						"a participant is excluded through a dispute instead.",
				},
			},
		);
}

export function fitnessRoutes(d: FitnessRouteDeps) {
	return new Elysia().use(competitionRoutes(d)).use(
		new Elysia({ prefix: "/api/v1", detail: { tags: ["fitness"] } })
			.use(authPlugin(d.auth))
			.get(
				"/fitness/stats/:user_id",
				({ principal, params, query }) => d.stats.stats(principal.user.id, params.user_id, query),
				{
					auth: true,
					params: StatsParams,
					query: StatsQuery,
					response: { 200: StatsView, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
					detail: {
						summary: "A user's activity: per day and week, competitions, best days, streaks",
						description:
							"Counted records only (not deleted, not flagged), days in the user's profile zone, overlaps counted " +
							"once. Visible to the user and to anyone sharing a competition with them; otherwise 404.",
					},
				},
			)
			.post("/fitness/sync", ({ principal, body }) => d.sync.sync(principal.user.id, body.items), {
				auth: true,
				body: SyncBody,
				response: { 200: SyncResult, 401: ErrorBody, 409: ErrorBody, 422: ErrorBody },
				detail: {
					summary: "Sync activity records (≤ 500), idempotently",
					description:
						"Upsert on (caller, source, externalId); only a newer `version` replaces a record; `deleted` " +
						"removes it from the totals. Each item reports its outcome. Implausible values (> 250 steps/min, " +
						"> 100,000 steps, faster than 7 m/s on foot or 25 m/s riding) and manual entries are stored with " +
						"`flags` and never counted. Overlaps of two sources count once (per-minute maximum over sources). " +
						"409 when every item falls in a frozen competition.",
				},
			})
			.get(
				"/leaderboard/:competition_id",
				async ({ principal, params, query }) =>
					// Serialised by the service (cached per page and per caller); the schema below documents it.
					new Response(await d.leaderboards.readJson(params.competition_id, principal.user.id, query), {
						headers: { "content-type": "application/json" },
					}),
				{
					auth: true,
					params: CompetitionIdParams,
					query: LeaderboardQuery,
					response: { 200: LeaderboardView, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
					detail: {
						summary: "A competition's leaderboard: a page, the caller's rank and neighbours",
						description:
							"Order: score descending, then who reached it first, then user id; exact ties share a rank. " +
							"`cursor` = the previous page's `nextCursor` (keyset: no duplicates or gaps). Cached in " +
							"process for LEADERBOARD_CACHE_MS.",
					},
				},
			)
			.post(
				"/leaderboard/:competition_id/rebuild",
				({ principal, params }) =>
					d.leaderboards.rebuild(params.competition_id, principal.user.id, principal.user.role === "admin"),
				{
					auth: true,
					params: CompetitionIdParams,
					response: {
						200: t.Object({ members: t.Integer({ description: "participants now on the board" }) }),
						401: ErrorBody,
						403: ErrorBody,
						404: ErrorBody,
						422: ErrorBody,
					},
					detail: {
						summary: "Rebuild a leaderboard from Postgres (organiser or administrator)",
						description:
							"Into a staging key swapped in atomically, then the rows changed meanwhile are replayed; reads " +
							"and syncs go on throughout. A board Redis lost is rebuilt on its next read anyway.",
					},
				},
			),
	);
}
