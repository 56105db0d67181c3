/**
 * A JetStream-enabled `nats-server` of the test file's own (setup installs
 * Debian's `nats-server`): loopback, a free port, a store under /tmp. It can
 * be stopped and started again on the same port and store, as an outage.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { Subprocess } from "bun";
import type { BusChange } from "../../src/bridge/bus.ts";
import { freePort, stopChild, waitFor } from "../../src/infra/process.ts";

export interface NatsServer {
	readonly url: string;
	readonly port: number;
	/** Stops the server (SIGTERM, the store stays). */
	stop(): Promise<void>;
	start(): Promise<void>;
	/** Stops it and removes the store. */
	dispose(): Promise<void>;
}

/** Every change in the stream, in stream order (what a consumer reading from the start sees). */
export async function streamChanges(url: string, stream: string): Promise<BusChange[]> {
	const nc = await connect({ servers: url });
	try {
		const jsm = await jetstreamManager(nc);
		const info = await jsm.streams.info(stream);
		const out: BusChange[] = [];
		for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
			const m = await jsm.streams.getMessage(stream, { seq });
			if (m) out.push(m.json<BusChange>());
		}
		return out;
	} finally {
		await nc.close();
	}
}

export async function startNatsServer(): Promise<NatsServer> {
	const binary = Bun.which("nats-server");
	if (!binary)
		throw new Error("nats-server not found: run `node scripts/setup.mjs` (Debian package nats-server)");
	const port = freePort();
	const store = mkdtempSync(join(tmpdir(), "herald-nats-"));
	let child: Subprocess | undefined;
	const reachable = async () => {
		const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
		socket.end();
	};
	const start = async () => {
		child = Bun.spawn([binary, "-js", "-a", "127.0.0.1", "-p", String(port), "-sd", store], {
			stdout: "ignore",
			stderr: "ignore",
			stdin: "ignore",
		});
		await waitFor(reachable, { timeoutMs: 15_000, intervalMs: 50, what: `nats-server on ${port}` });
	};
	await start();
	const stop = async () => {
		if (child) await stopChild(child, 5000);
		child = undefined;
	};
	return {
		url: `nats://127.0.0.1:${port}`,
		port,
		stop,
		start,
		async dispose() {
			await stop();
			rmSync(store, { recursive: true, force: true });
		},
	};
}
