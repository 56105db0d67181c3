/**
 * Tracing, once per process: with OTEL_EXPORTER_OTLP_ENDPOINT set, spans go
 * over OTLP/HTTP (JSON) to `<endpoint>/v1/traces` (Jaeger, any collector),
 * W3C trace context in and out. Without it nothing is recorded and the
 * helpers below cost a lookup.
 *
 * What a span may carry: route templates, table names, commands, outcomes,
 * ids Herald made. Never a header value, a body, a token, a password, a
 * connection string (test/tracing-e2e.test.ts checks a full trace).
 */
import {
	type Attributes,
	type Context,
	context,
	INVALID_SPAN_CONTEXT,
	type Link,
	propagation,
	type Span,
	SpanKind,
	SpanStatusCode,
	trace,
} from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { VERSION } from "../version.ts";
import { BunContextManager } from "./trace-context.ts";

export interface Tracing {
	readonly resource: Resource;
	readonly spanProcessor: SpanProcessor;
	/** Exports what is buffered (shutdown, tests). */
	flush(): Promise<void>;
	shutdown(): Promise<void>;
}

let installed: Tracing | undefined;
const contextManager = new BunContextManager();

/**
 * The process's tracing (the first call decides), or undefined when no endpoint is configured.
 * The SDK (exporter, span processor, propagator) is imported only then: a process that does not
 * trace never loads it (test/startup-modules.test.ts).
 */
export async function setupTracing(options: {
	endpoint: string | undefined;
	serviceName: string;
}): Promise<Tracing | undefined> {
	if (installed || !options.endpoint) return installed;
	const { createTracerProvider } = await import("./tracing-sdk.ts");
	if (installed) return installed; // another call got here first
	const { resource, spanProcessor, provider, propagator } = createTracerProvider({
		url: `${options.endpoint.replace(/\/$/, "")}/v1/traces`,
		serviceName: options.serviceName,
		version: VERSION,
	});
	context.setGlobalContextManager(contextManager.enable());
	propagation.setGlobalPropagator(propagator);
	trace.setGlobalTracerProvider(provider);
	installed = {
		resource,
		spanProcessor,
		flush: () => provider.forceFlush(),
		shutdown: () => provider.shutdown(),
	};
	return installed;
}

export const tracingOn = (): boolean => installed !== undefined;
export const installedTracing = (): Tracing | undefined => installed;
export const tracer = () => trace.getTracer("herald", VERSION);

/** The active context's `traceparent`, if a span is recording. */
export function currentTraceparent(ctx: Context = context.active()): string | undefined {
	if (!installed) return undefined;
	const carrier: Record<string, string> = {};
	propagation.inject(ctx, carrier);
	return carrier.traceparent;
}

/** Adds `traceparent` (and `tracestate`) of the active span to outgoing headers. */
export function injectTraceHeaders(headers: Record<string, string>): Record<string, string> {
	if (installed) propagation.inject(context.active(), headers);
	return headers;
}

/** The context a `traceparent` value names (for links and parents), or undefined. */
export function contextOf(traceparent: string | null | undefined): Context | undefined {
	if (!installed || !traceparent) return undefined;
	const ctx = propagation.extract(context.active(), { traceparent });
	return trace.getSpanContext(ctx) ? ctx : undefined;
}

/** Runs `fn` in a span (ended, with its error recorded, when `fn` settles). */
export async function inSpan<T>(
	name: string,
	options: { kind?: SpanKind; attributes?: Attributes; links?: Link[]; parent?: Context },
	fn: (span: Span) => Promise<T>,
): Promise<T> {
	if (!installed) return fn(trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
	const parent = options.parent ?? context.active();
	const span = tracer().startSpan(
		name,
		{ kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links: options.links },
		parent,
	);
	try {
		return await context.with(trace.setSpan(parent, span), () => fn(span));
	} catch (error) {
		span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : "error" });
		throw error;
	} finally {
		span.end();
	}
}

/** `trace_id` / `span_id` of the active span, for log lines. */
export function traceFields(): { trace_id: string; span_id: string } | undefined {
	if (!installed) return undefined;
	const sc = trace.getActiveSpan()?.spanContext();
	return sc && trace.isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : undefined;
}

/** Enters `ctx` for the rest of the current async flow (the HTTP hook: see trace-context.ts). */
export const enterContext = (ctx: Context): void => contextManager.enter(ctx);
export { context as otelContext, propagation, SpanKind, SpanStatusCode, trace };
