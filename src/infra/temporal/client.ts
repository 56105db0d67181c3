import { Client, Connection } from "@temporalio/client";

export interface TemporalClientHandle {
	readonly client: Client;
	close(): Promise<void>;
}

export async function connectTemporalClient(options: {
	address: string;
	namespace: string;
}): Promise<TemporalClientHandle> {
	const connection = await Connection.connect({ address: options.address, connectTimeout: 10_000 });
	const client = new Client({ connection, namespace: options.namespace });
	return { client, close: () => connection.close() };
}

/** Round trip to the frontend service; throws when Temporal is unreachable. */
export async function pingTemporal(client: Client): Promise<void> {
	await client.connection.workflowService.getSystemInfo({});
}
