/**
 * The Temporal CLI dev server for `dev` and tests when no TEMPORAL_ADDRESS is
 * given: one SQLite file (WAL, relaxed fsync: it is a dev store) so restarts
 * keep workflow history, Web UI on its own port.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Connection } from "@temporalio/client";
import { stopChild, waitFor } from "../process.ts";

export interface TemporalDevServer {
	readonly address: string;
	readonly uiUrl: string | undefined;
	stop(): Promise<void>;
}

export async function startTemporalDevServer(options: {
	cliPath: string;
	/** SQLite file; omitted: in-memory (tests). */
	dbFile?: string;
	port: number;
	uiPort?: number;
	headless?: boolean;
	onLog?: (line: string) => void;
}): Promise<TemporalDevServer> {
	const args = [
		"server",
		"start-dev",
		"--ip",
		"127.0.0.1",
		"--port",
		String(options.port),
		"--log-level",
		"warn",
		"--sqlite-pragma",
		"journal_mode=wal",
		"--sqlite-pragma",
		"synchronous=normal",
		"--dynamic-config-value",
		"frontend.enableUpdateWorkflowExecution=true",
		// One server process, one SQLite connection: every persistence call queues on it. A task
		// queue of one partition has no forwarding between partitions (4 by default: a task in a
		// partition without a poller waits to be forwarded), and an activity scheduled by a
		// workflow task goes back in that task's answer (eager) instead of through matching.
		"--dynamic-config-value",
		"matching.numTaskqueueReadPartitions=1",
		"--dynamic-config-value",
		"matching.numTaskqueueWritePartitions=1",
		"--dynamic-config-value",
		"system.enableActivityEagerExecution=true",
	];
	if (options.dbFile) {
		const dbFile = resolve(options.dbFile);
		mkdirSync(dirname(dbFile), { recursive: true });
		args.push("--db-filename", dbFile);
	}
	if (options.headless) args.push("--headless");
	else args.push("--ui-port", String(options.uiPort ?? options.port + 1000), "--ui-disable-news-fetch");
	const child = Bun.spawn([options.cliPath, ...args], {
		stdout: "pipe",
		stderr: "pipe",
		stdin: "ignore",
		// Own process group: a terminal Ctrl-C reaches Herald only, which stops it in order.
		detached: true,
	});
	void pipeLines(child.stderr, options.onLog);
	void pipeLines(child.stdout, options.onLog);
	const address = `127.0.0.1:${options.port}`;
	await waitFor(
		async () => {
			if (child.exitCode !== null) throw new Error(`temporal dev server exited with ${child.exitCode}`);
			const conn = await Connection.connect({ address, connectTimeout: 1000 });
			try {
				await conn.workflowService.getSystemInfo({});
			} finally {
				await conn.close();
			}
		},
		{ timeoutMs: 60_000, what: `Temporal dev server on ${address}` },
	);
	return {
		address,
		uiUrl: options.headless ? undefined : `http://127.0.0.1:${options.uiPort ?? options.port + 1000}`,
		stop: () => stopChild(child),
	};
}

async function pipeLines(stream: ReadableStream<Uint8Array>, onLog?: (line: string) => void): Promise<void> {
	const decoder = new TextDecoder();
	for await (const chunk of stream) {
		if (!onLog) continue;
		for (const line of decoder.decode(chunk).split("\n")) if (line.trim()) onLog(line);
	}
}
