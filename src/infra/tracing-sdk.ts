/**
 * The OpenTelemetry SDK parts of tracing (OTLP/HTTP exporter, batch span
 * processor, tracer provider, W3C propagator): imported by `setupTracing`
 * only when OTEL_EXPORTER_OTLP_ENDPOINT is set, so a process without tracing
 * never loads them.
 */
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { Resource } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";

export function createTracerProvider(options: { url: string; serviceName: string; version: string }) {
	const resource = new Resource({ "service.name": options.serviceName, "service.version": options.version });
	const exporter = new OTLPTraceExporter({ url: options.url });
	const spanProcessor = new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 });
	const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
	return { resource, spanProcessor, provider, propagator: new W3CTraceContextPropagator() };
}
