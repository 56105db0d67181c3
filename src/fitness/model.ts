/** Request and response schemas of fitness competitions, sync and leaderboards (TypeBox, shown in Swagger). */
import { t } from "elysia";
import { DateTime, JsonInt, Limit } from "../http/schema.ts";

export { ErrorBody } from "../auth/model.ts";

const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
const Uuid = t.String({ format: "uuid", pattern: UUID_PATTERN });

export const METRICS = ["steps", "distance_m", "active_minutes", "calories"] as const;
export type Metric = (typeof METRICS)[number];
export const Metric = t.UnionEnum(METRICS, { description: "what the competition counts" });
export const STATUSES = [
	"draft",
	"open",
	"running",
	"finished",
	"distributing",
	"settled",
	"cancelled",
] as const;
export type CompetitionStatus = (typeof STATUSES)[number];
const Status = t.UnionEnum(STATUSES);

/** The largest score a leaderboard holds exactly (the composite score's bits: see leaderboard-keys.ts). */
export const MAX_SCORE = 2 ** 28 - 1;
const Amount = JsonInt({ minimum: 0, maximum: 1_000_000_000_000, description: "minor units (cents)" });
const Name = t.String({ minLength: 1, maxLength: 200, pattern: "\\S", description: "not blank" });
const Zone = t.String({
	minLength: 1,
	maxLength: 64,
	examples: ["Europe/Berlin"],
	description: "IANA time zone: the competition's days",
});
const Bps = t.Array(JsonInt({ minimum: 1, maximum: 10_000 }), {
	maxItems: 100,
	description:
		"shares of the pool by position in basis points, summing to 10000 (5000,3000,2000 = 50/30/20 %); [] = no prizes",
	examples: [[5000, 3000, 2000]],
});

export const CreateCompetitionBody = t.Object(
	{
		name: Name,
		description: t.Optional(t.String({ maxLength: 5000 })),
		metric: Metric,
		timeZone: Zone,
		startsAt: DateTime("start (inclusive)"),
		endsAt: DateTime("end (exclusive); at most 366 days after the start"),
		maxParticipants: t.Optional(JsonInt({ minimum: 1, maximum: 1_000_000 })),
		prizePoolMinor: t.Optional(Amount),
		currency: t.Optional(t.String({ pattern: "^[A-Z]{3}$", examples: ["EUR"] })),
		payoutBps: t.Optional(Bps),
	},
	{ additionalProperties: false },
);

export const UpdateCompetitionBody = t.Object(
	{
		name: t.Optional(Name),
		description: t.Optional(t.String({ maxLength: 5000 })),
		status: t.Optional(
			t.Union([t.Literal("open"), t.Literal("cancelled")], {
				description: "publish (draft → open) or cancel (before the end)",
			}),
		),
		startsAt: t.Optional(DateTime("draft only")),
		endsAt: t.Optional(DateTime("draft only")),
		maxParticipants: t.Optional(t.Union([JsonInt({ minimum: 1, maximum: 1_000_000 }), t.Null()])),
		prizePoolMinor: t.Optional(Amount),
		payoutBps: t.Optional(Bps),
	},
	{ additionalProperties: false, minProperties: 1 },
);

export const CompetitionView = t.Object({
	id: t.String({ format: "uuid" }),
	organiserId: t.String({ format: "uuid" }),
	name: t.String(),
	description: t.String(),
	metric: Metric,
	timeZone: t.String(),
	startsAt: t.String({ format: "date-time" }),
	endsAt: t.String({ format: "date-time" }),
	maxParticipants: t.Union([t.Integer(), t.Null()]),
	prizePoolMinor: t.Integer(),
	currency: t.String(),
	payoutBps: t.Array(t.Integer()),
	status: Status,
	frozenAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
	participants: t.Integer(),
	joined: t.Boolean({ description: "whether the caller takes part" }),
	createdAt: t.String({ format: "date-time" }),
});

export const CompetitionPage = t.Object({
	items: t.Array(CompetitionView),
	nextCursor: t.Union([t.String(), t.Null()]),
});
export const CompetitionListQuery = t.Object({
	mine: t.Optional(t.Boolean({ description: "only competitions the caller organises or joined" })),
	limit: Limit(100, 20),
	cursor: t.Optional(t.String({ maxLength: 200, description: "nextCursor of the previous page" })),
});
export const CompetitionParams = t.Object({ id: Uuid });
export const ParticipantParams = t.Object({ id: Uuid, userId: Uuid });
export const CompetitionIdParams = t.Object({ competition_id: Uuid });

const Count = (description: string) => t.Optional(JsonInt({ minimum: 0, maximum: 10_000_000, description }));
export const KINDS = ["walk", "run", "ride", "swim", "workout", "other"] as const;
export type Kind = (typeof KINDS)[number];

export const SyncItem = t.Object(
	{
		source: t.String({
			minLength: 1,
			maxLength: 100,
			pattern: "^[A-Za-z0-9._:-]+$",
			description: "device or app, e.g. garmin-watch",
			examples: ["garmin-watch"],
		}),
		externalId: t.String({ minLength: 1, maxLength: 200, description: "the record's id at its source" }),
		version: t.Optional(
			JsonInt({
				minimum: 0,
				maximum: 9_007_199_254_740_991,
				description: "only a newer version replaces a stored record; default 0",
			}),
		),
		kind: t.Optional(t.UnionEnum(KINDS, { description: "default other" })),
		manual: t.Optional(t.Boolean({ description: "typed in by hand: stored, flagged, never counted" })),
		deleted: t.Optional(t.Boolean({ description: "the source deleted it: removed from the totals" })),
		startedAt: DateTime("start with its UTC offset", "2030-05-01T08:00:00+02:00"),
		endedAt: DateTime("end with its UTC offset", "2030-05-01T08:30:00+02:00"),
		steps: Count("steps"),
		distanceM: Count("metres"),
		activeMinutes: Count("active minutes"),
		calories: Count("kilocalories"),
	},
	{ additionalProperties: false },
);
export const SyncBody = t.Object(
	{ items: t.Array(SyncItem, { minItems: 1, maxItems: 500 }) },
	{ additionalProperties: false },
);

export const OUTCOMES = ["created", "updated", "deleted", "unchanged", "stale", "rejected"] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const SyncResult = t.Object({
	items: t.Array(
		t.Object({
			index: t.Integer(),
			source: t.String(),
			externalId: t.String(),
			outcome: t.UnionEnum(OUTCOMES, {
				description: "unchanged: same or older version already stored (stale: older)",
			}),
			flags: t.Array(t.String(), { description: "why the record does not count toward scores" }),
			error: t.Optional(t.Object({ code: t.String(), message: t.String() })),
		}),
	),
	scores: t.Array(t.Object({ competitionId: t.String({ format: "uuid" }), score: t.Integer() })),
});

export const LeaderboardQuery = t.Object({
	limit: Limit(100, 10),
	cursor: t.Optional(t.String({ maxLength: 200, description: "nextCursor of the previous page" })),
	around: t.Optional(
		t.Integer({ minimum: 0, maximum: 25, default: 2, description: "neighbours on each side of the caller" }),
	),
});
const Entry = t.Object({
	rank: t.Integer({ description: "1-based; exact ties share a rank" }),
	userId: t.String({ description: "uuid" }),
	score: t.Integer(),
	reachedAt: t.String({ description: "RFC 3339 instant (whole seconds)" }),
});
export const LeaderboardView = t.Object({
	competitionId: t.String({ format: "uuid" }),
	status: Status,
	total: t.Integer(),
	entries: t.Array(Entry),
	nextCursor: t.Union([t.String(), t.Null()]),
	me: t.Union([Entry, t.Null()], { description: "the caller's own entry, null when not on the board" }),
	neighbours: t.Array(Entry, { description: "the caller's neighbours (and the caller), best first" }),
});

export const CalculationView = t.Object({
	id: t.String({ format: "uuid" }),
	competitionId: t.String({ format: "uuid" }),
	snapshotId: t.String({ format: "uuid" }),
	snapshotVersion: t.Integer(),
	snapshotHash: t.String({ description: "SHA-256 of the frozen standings" }),
	status: t.UnionEnum(["awaiting_approval", "approved", "superseded", "completed"]),
	totalMinor: t.Integer(),
	currency: t.String(),
	allocations: t.Array(
		t.Object({
			id: t.String({ format: "uuid" }),
			userId: t.String({ format: "uuid" }),
			rank: t.Integer(),
			amountMinor: t.Integer(),
			status: t.UnionEnum(["pending", "submitted", "confirmed", "failed"], {
				description: "the payout ledger",
			}),
		}),
	),
});
export const DistributionStarted = t.Object({
	calculationId: t.String({ format: "uuid" }),
	workflowId: t.String({ description: "prizes:<calculation id>, run by the competition's actor" }),
	status: t.Literal("approved"),
});
export const DisputeParams = t.Object({ id: Uuid, disputeId: Uuid });
export const FileDisputeBody = t.Object(
	{
		subjectUserId: Uuid,
		reason: t.String({ minLength: 1, maxLength: 2000, pattern: "\\S" }),
	},
	{ additionalProperties: false },
);
export const ResolveDisputeBody = t.Object(
	{
		decision: t.UnionEnum(["upheld", "rejected"], {
			description: "upheld excludes the subject (a new snapshot version)",
		}),
		resolution: t.Optional(t.String({ maxLength: 2000 })),
	},
	{ additionalProperties: false },
);
export const DisputeView = t.Object({
	id: t.String({ format: "uuid" }),
	competitionId: t.String({ format: "uuid" }),
	filedBy: t.String({ format: "uuid" }),
	subjectUserId: t.String({ format: "uuid" }),
	reason: t.String(),
	status: t.UnionEnum(["open", "upheld", "rejected"]),
	resolution: t.Union([t.String(), t.Null()]),
	createdAt: t.String({ format: "date-time" }),
	resolvedAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
});
export const AuditView = t.Object({
	items: t.Array(
		t.Object({
			id: t.Integer(),
			actorId: t.Union([t.String({ format: "uuid" }), t.Null()]),
			action: t.String(),
			details: t.Record(t.String(), t.Unknown()),
			createdAt: t.String({ format: "date-time" }),
		}),
	),
});

export const StatsParams = t.Object({ user_id: Uuid });
export const StatsQuery = t.Object({
	days: t.Optional(
		t.Integer({ minimum: 1, maximum: 366, default: 30, description: "days back from today, today included" }),
	),
});
const Totals = {
	steps: t.Integer(),
	distanceM: t.Integer(),
	activeMinutes: t.Integer(),
	calories: t.Integer(),
};
const Best = t.Union([t.Object({ date: t.String(), value: t.Integer() }), t.Null()]);
export const StatsView = t.Object({
	userId: t.String({ format: "uuid" }),
	timeZone: t.String({ description: "the user's profile zone: the days' boundaries" }),
	days: t.Array(
		t.Object({
			date: t.String({ description: "YYYY-MM-DD" }),
			hours: t.Number({ description: "23 or 25 at DST changes" }),
			...Totals,
		}),
	),
	weeks: t.Array(t.Object({ week: t.String({ description: "ISO week, e.g. 2030-W18" }), ...Totals })),
	competitions: t.Array(
		t.Object({
			competitionId: t.String({ format: "uuid" }),
			name: t.String(),
			metric: t.String(),
			status: t.String(),
			score: t.Integer(),
			rank: t.Integer(),
			timeZone: t.String({ description: "the competition's zone: its days' boundaries" }),
			days: t.Array(
				t.Object({
					date: t.String({ description: "YYYY-MM-DD in the competition's zone" }),
					hours: t.Number({ description: "23 or 25 at DST changes" }),
					value: t.Integer({ description: "the competition's metric that day, within its window" }),
				}),
				{ description: "from the competition's first day to today or its last day" },
			),
			streaks: t.Object({
				current: t.Integer({ description: "consecutive active days in the competition up to today" }),
				longest: t.Integer({ description: "the longest run of active days in the competition" }),
			}),
		}),
	),
	bests: t.Object(
		{ steps: Best, distanceM: Best, activeMinutes: Best, calories: Best },
		{ description: "the best day per metric in the range" },
	),
	streaks: t.Object({
		current: t.Integer({ description: "consecutive active days up to today (or yesterday)" }),
		longest: t.Integer({ description: "the longest run of active days in the range" }),
	}),
});
