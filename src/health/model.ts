import { t } from "elysia";

export const DependencyStatus = t.Object({
	status: t.Union([t.Literal("up"), t.Literal("down")]),
	latencyMs: t.Number({ description: "round-trip time of the probe in milliseconds" }),
	error: t.Optional(t.String({ description: "why the probe failed (no secrets)" })),
});

export const HealthReport = t.Object({
	status: t.Union([t.Literal("ok"), t.Literal("degraded")]),
	version: t.String(),
	uptimeSeconds: t.Number(),
	database: DependencyStatus,
	temporal: DependencyStatus,
	redis: DependencyStatus,
});

export type DependencyStatus = typeof DependencyStatus.static;
export type HealthReport = typeof HealthReport.static;
