import { Elysia, t } from "elysia";
import { HealthReport } from "./model.ts";
import { checkHealth, type HealthProbes } from "./service.ts";

export function healthRoutes(options: { probes: HealthProbes; version: string; startedAt: number }) {
	return new Elysia({ name: "herald/health" })
		.get("/health", () => "OK", {
			detail: { tags: ["health"], summary: "Liveness: answers `OK` as text while the process serves HTTP" },
			response: { 200: t.String({ examples: ["OK"] }) },
		})
		.get(
			"/api/v1/health",
			async ({ set }) => {
				const report = await checkHealth(options.probes, options);
				if (report.status !== "ok") set.status = 503;
				return report;
			},
			{
				detail: {
					tags: ["health"],
					summary: "Readiness: status and latency of PostgreSQL, Temporal and Redis",
					description: "503 with `status: degraded` when any dependency is down.",
				},
				response: { 200: HealthReport, 503: HealthReport },
			},
		);
}
