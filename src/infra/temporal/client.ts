import { Client, Connection } from "@temporalio/client";
import { tracingOn } from "../tracing.ts";

export interface TemporalClientHandle {
	readonly client: Client;
	close(): Promise<void>;
}

export async function connectTemporalClient(options: {
	address: string;
	namespace: string;
}): Promise<TemporalClientHandle> {
	const connection = await Connection.connect({ address: options.address, connectTimeout: 10_000 });
	// With tracing on, every start and signal carries the caller's span in its headers (the
	// interceptors are imported only then).
	const interceptors = tracingOn()
		? {
				workflow: [
					new (
						await import("@temporalio/interceptors-opentelemetry")
					).OpenTelemetryWorkflowClientInterceptor(),
				],
			}
		: undefined;
	const client = new Client({
		connection,
		namespace: options.namespace,
		...(interceptors && { interceptors }),
	});
	return { client, close: () => connection.close() };
}

/** Round trip to the frontend service; throws when Temporal is unreachable. */
export async function pingTemporal(client: Client): Promise<void> {
	await client.connection.workflowService.getSystemInfo({});
}
