/**
 * The worker's tracing (when the process traces, see src/infra/tracing.ts):
 * the SDK's OpenTelemetry interceptors for activities (a span per attempt,
 * child of the workflow's) and, in the workflow bundle, workflows/kit/tracing.ts;
 * workflow spans leave the sandbox through the `exporter` sink.
 */
import { resolve } from "node:path";
import type { WorkerOptions } from "@temporalio/worker";
import { installedTracing } from "../infra/tracing.ts";

const WORKFLOW_INTERCEPTORS = resolve(import.meta.dir, "../../workflows/kit/tracing.ts");

/** The worker's tracing options; the SDK's interceptors are imported only when the process traces. */
export async function tracingInterceptors(): Promise<Pick<WorkerOptions, "interceptors" | "sinks">> {
	const tracing = installedTracing();
	if (!tracing) return {};
	const {
		makeWorkflowExporter,
		OpenTelemetryActivityInboundInterceptor,
		OpenTelemetryActivityOutboundInterceptor,
	} = await import("@temporalio/interceptors-opentelemetry");
	return {
		sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
		interceptors: {
			workflowModules: [WORKFLOW_INTERCEPTORS],
			activity: [
				(ctx) => ({
					inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
					outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
				}),
			],
		},
	};
}
