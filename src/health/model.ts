import { t } from "elysia";

export const DependencyStatus = t.Object({
	status: t.Union([t.Literal("up"), t.Literal("down")]),
	latencyMs: t.Number({ description: "round-trip time of the probe in milliseconds" }),
	error: t.Optional(t.String({ description: "why the probe failed (no secrets)" })),
});

export const BridgeStatus = t.Object({
	pending: t.Integer({ description: "outbox changes not yet delivered to their actors" }),
	lagSeconds: t.Number({ description: "age of the oldest undelivered change; degraded above 60 s" }),
	deliveredLastMinute: t.Integer({ description: "changes delivered in the last minute, by all bridges" }),
});

export const ReconcilerStatus = t.Object({
	lastRunAt: t.Union([t.String({ format: "date-time" }), t.Null()], {
		description: "when the reconciler last finished; null before its first run",
	}),
	repaired: t.Record(t.String(), t.Integer(), {
		description: "what its last run repaired, e.g. `eventActor.started` (zeros left out)",
	}),
	repairedLastDay: t.Record(t.String(), t.Integer(), { description: "repairs over the last 24 hours" }),
});

export const AuthCacheStatus = t.Object({
	state: t.Union([t.Literal("off"), t.Literal("connecting"), t.Literal("live"), t.Literal("degraded")], {
		description:
			"live: bearer checks are served from memory; connecting/degraded: its listener is not in place, every check reads the database",
	}),
	entries: t.Integer({ description: "sessions and identities held in memory" }),
});

export const HealthReport = t.Object({
	status: t.Union([t.Literal("ok"), t.Literal("degraded")]),
	version: t.String(),
	uptimeSeconds: t.Number(),
	database: DependencyStatus,
	temporal: DependencyStatus,
	redis: DependencyStatus,
	bridge: t.Optional(BridgeStatus),
	reconciler: t.Optional(ReconcilerStatus),
	authCache: t.Optional(AuthCacheStatus),
});

export type DependencyStatus = typeof DependencyStatus.static;
export type BridgeStatus = typeof BridgeStatus.static;
export type ReconcilerStatus = typeof ReconcilerStatus.static;
export type AuthCacheStatus = typeof AuthCacheStatus.static;
export type HealthReport = typeof HealthReport.static;
