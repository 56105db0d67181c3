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

export const HealthReport = t.Object({
	status: t.Union([t.Literal("ok"), t.Literal("degraded")]),
	version: t.String(),
	uptimeSeconds: t.Number(),
	database: DependencyStatus,
	temporal: DependencyStatus,
	redis: DependencyStatus,
	bridge: t.Optional(BridgeStatus),
});

export type DependencyStatus = typeof DependencyStatus.static;
export type BridgeStatus = typeof BridgeStatus.static;
export type HealthReport = typeof HealthReport.static;
