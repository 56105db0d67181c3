/**
 * HTTP RED metrics for every route: `http_request_duration_seconds` by
 * method, route *template* (`/api/v1/events/:id`, so random paths add no
 * series: a path no route matched is `route="unmatched"`) and status, and
 * `http_requests_in_flight`. Two global hooks, the cheapest pair Elysia has
 * that sees every request, errors and early refusals included.
 */
import { Elysia, StatusMap } from "elysia";
import { gauge, histogram } from "../infra/metrics.ts";

const duration = histogram(
	"http_request_duration_seconds",
	"HTTP request duration by method, route template and status code",
	["method", "route", "status_code"],
);
const inFlight = gauge("http_requests_in_flight", "HTTP requests being served");

/** Methods outside this set are counted as `other` (a client can send any token). */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

const started = new WeakMap<Request, number>();

function finish(request: Request, route: string | undefined, status: number): void {
	const begun = started.get(request);
	if (begun === undefined) return;
	started.delete(request);
	inFlight.dec();
	const method = METHODS.has(request.method) ? request.method : "other";
	duration.observe(
		{ method, route: route || "unmatched", status_code: String(status) },
		(performance.now() - begun) / 1000,
	);
}

/**
 * A response an `onRequest` hook returned itself (a CORS preflight): Elysia
 * runs no `afterResponse` hook for it, so the hook that answers reports it.
 */
export function answeredEarly(request: Request, response: Response): Response {
	finish(request, "preflight", response.status);
	return response;
}

export function httpMetrics() {
	return new Elysia({ name: "herald/http-metrics" })
		.onRequest(({ request }) => {
			started.set(request, performance.now());
			inFlight.inc();
		})
		.onAfterResponse({ as: "global" }, (ctx) => {
			const set = ctx.set.status;
			const status = typeof set === "number" ? set : set ? (StatusMap[set] ?? 200) : 200;
			finish(ctx.request, (ctx as { route?: string }).route, status);
		});
}
