/**
 * The workflow side of tracing (loaded into the workflow bundle only when the
 * worker runs with tracing on): the SDK's OpenTelemetry interceptors carry the
 * caller's span from the signal or start headers into the workflow, and from
 * the workflow into its activities and child workflows. Spans made in the
 * sandbox leave through the `exporter` sink the worker installs.
 */
import {
	OpenTelemetryInboundInterceptor,
	OpenTelemetryInternalsInterceptor,
	OpenTelemetryOutboundInterceptor,
} from "@temporalio/interceptors-opentelemetry/lib/workflow";
import type { WorkflowInterceptorsFactory } from "@temporalio/workflow";

export const interceptors: WorkflowInterceptorsFactory = () => ({
	inbound: [new OpenTelemetryInboundInterceptor()],
	outbound: [new OpenTelemetryOutboundInterceptor()],
	internals: [new OpenTelemetryInternalsInterceptor()],
});
