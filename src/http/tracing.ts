/**
 * The HTTP server span of each request, started by the first hook
 * (`http/metrics.ts` calls in) and entered for the rest of the request, so
 * every span and log line the request causes is its child; named by route
 * template when it ends. Its attributes are the method, the route template
 * and the status: no URL (a query may carry `access_token`), no header, no body.
 */
import type { Span } from "@opentelemetry/api";
import {
	enterContext,
	otelContext,
	propagation,
	SpanKind,
	SpanStatusCode,
	trace,
	tracer,
	tracingOn,
} from "../infra/tracing.ts";

const SPAN = Symbol("herald.http-tracing.span");
type Traced = Request & { [SPAN]?: Span };

const headerGetter = {
	keys: (h: Headers) => [...h.keys()],
	get: (h: Headers, key: string) => h.get(key) ?? undefined,
};

export function startRequestSpan(request: Request, method: string): void {
	if (!tracingOn()) return;
	const parent = propagation.extract(otelContext.active(), request.headers, headerGetter);
	const span = tracer().startSpan(
		`${method} (unmatched)`,
		{ kind: SpanKind.SERVER, attributes: { "http.request.method": method } },
		parent,
	);
	(request as Traced)[SPAN] = span;
	enterContext(trace.setSpan(parent, span));
}

export function endRequestSpan(request: Request, method: string, route: string, status: number): void {
	const traced = request as Traced;
	const span = traced[SPAN];
	if (!span) return;
	traced[SPAN] = undefined;
	span.updateName(`${method} ${route}`);
	span.setAttributes({ "http.route": route, "http.response.status_code": status });
	if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
	span.end();
}
