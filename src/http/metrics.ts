/**
 * HTTP RED metrics for every route: `http_request_duration_seconds` by
 * method, route *template* (`/api/v1/events/:id`, so random paths add no
 * series: a path no route matched is `route="unmatched"`) and status, and
 * `http_requests_in_flight`. Fed by the edge's hooks (see `requestStarted`):
 * every request, errors and early refusals included.
 */
import { ElysiaCustomStatusResponse, StatusMap } from "elysia";
import { hotHistogram, sampled } from "../infra/metrics.ts";
import { endRequestSpan, startRequestSpan } from "./tracing.ts";

const duration = hotHistogram(
	"http_request_duration_seconds",
	"HTTP request duration by method, route template and status code",
	["method", "route", "status_code"],
);
let inFlight = 0;
sampled("http_requests_in_flight", "HTTP requests being served", [], async () => [{ value: inFlight }]);

/** Methods outside this set are counted as `other` (a client can send any token). */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The start time rides on the request itself (a symbol property: cheaper than a WeakMap). */
const STARTED = Symbol("herald.http-metrics.started");
type Timed = Request & { [STARTED]?: number };

/** One child per (method, route, status): prom-client then skips hashing the labels on every request. */
const children = new Map<string, { observe(value: number): void }>();
const childFor = (method: string, route: string, status: number) => {
	const key = `${method} ${status} ${route}`;
	let child = children.get(key);
	if (!child) {
		child = duration.series({ method, route, status_code: String(status) });
		children.set(key, child);
	}
	return child;
};

function finish(request: Request, route: string | undefined, status: number): void {
	const timed = request as Timed;
	const begun = timed[STARTED];
	if (begun === undefined) return;
	timed[STARTED] = undefined;
	inFlight--;
	const method = METHODS.has(request.method) ? request.method : "other";
	childFor(method, route || "unmatched", status).observe((performance.now() - begun) / 1000);
	endRequestSpan(request, method, route || "unmatched", status);
}

/**
 * A response an `onRequest` hook returned itself (a CORS preflight): no
 * later hook runs for it, so the hook that answers reports it.
 */
export function answeredEarly(request: Request, response: Response): Response {
	finish(request, "preflight", response.status);
	return response;
}

/** Called by the one error mapper (request-context.ts) once it chose the status. */
export function answeredWithError(request: Request, route: string | undefined, status: number): void {
	finish(request, route, status);
}

const statusOf = (value: unknown, set: number | string | undefined): number => {
	if (value instanceof ElysiaCustomStatusResponse) return toNumber(value.code);
	if (value instanceof Response) return value.status;
	return toNumber(set);
};
const toNumber = (status: number | string | undefined): number =>
	typeof status === "number" ? status : status ? (StatusMap[status as keyof typeof StatusMap] ?? 200) : 200;

/**
 * A request begins: called first thing by request-context's `onRequest` hook.
 * The metrics add no hook of their own — each global hook costs every route
 * about a tenth of an in-process `/health` (bench/metrics.ts) — they ride on
 * the edge's: request-context's `onRequest` and error mapper, and the
 * compression `afterHandle` hook, which sees every handled response.
 */
export function requestStarted(request: Request): void {
	(request as Timed)[STARTED] = performance.now();
	startRequestSpan(request, METHODS.has(request.method) ? request.method : "other");
	inFlight++;
}

/** A handler answered (called by the compression hook, before it may replace the value with gzip). */
export function answered(ctx: {
	request: Request;
	responseValue: unknown;
	set: { status?: number | string };
}): void {
	finish(ctx.request, (ctx as { route?: string }).route, statusOf(ctx.responseValue, ctx.set.status));
}
