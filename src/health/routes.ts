import { Elysia, t } from "elysia";
import { HealthReport } from "./model.ts";
import { checkHealth, type HealthProbes } from "./service.ts";

/** Readiness results are shared for this long: a burst of probes costs one round of checks. */
const REPORT_TTL_MS = 1000;

export function healthRoutes(options: { probes: HealthProbes; version: string; startedAt: number }) {
	let last: { at: number; report: Promise<HealthReport> } | undefined;
	const report = () => {
		if (!last || performance.now() - last.at > REPORT_TTL_MS)
			last = { at: performance.now(), report: checkHealth(options.probes, options) };
		return last.report;
	};
	return new Elysia({ name: "herald/health" })
		.get("/health", () => "OK", {
			detail: { tags: ["health"], summary: "Liveness: answers `OK` as text while the process serves HTTP" },
			response: { 200: t.String({ examples: ["OK"] }) },
		})
		.get(
			"/api/v1/health",
			async ({ set }) => {
				const current = await report();
				if (current.status !== "ok") set.status = 503;
				return current;
			},
			{
				detail: {
					tags: ["health"],
					summary: "Readiness: status and latency of PostgreSQL, Temporal and Redis",
					description:
						"503 with `status: degraded` when any dependency is down or the bridge lags. Results are shared for 1 s.",
				},
				response: { 200: HealthReport, 503: HealthReport },
			},
		);
}
