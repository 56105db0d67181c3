/**
 * A local `redis-server` for `dev` and tests when no REDIS_URL is given.
 * Loopback only, no persistence (Redis holds only data Herald can rebuild or
 * lose), working directory under `dataDir`.
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { freePort, stopChild, waitFor } from "../process.ts";
import { RedisReplyError } from "./resp.ts";
import { parseRedisUrl, RespConnection } from "./resp-connection.ts";

export interface RedisServer {
	/** `redis://127.0.0.1:<port>` */
	readonly url: string;
	stop(): Promise<void>;
}

export async function startRedisServer(options: { dataDir: string; port?: number }): Promise<RedisServer> {
	const binary = Bun.which("redis-server");
	if (!binary) {
		throw new Error(
			"redis-server was not found on PATH. Install Redis (e.g. `apt-get install redis-server`) " +
				"or set REDIS_URL to an existing Redis.",
		);
	}
	const dir = resolve(options.dataDir);
	mkdirSync(dir, { recursive: true });
	// A port picked by us can be taken in the meantime; try a few.
	const attempts = options.port === undefined ? 3 : 1;
	let lastError: unknown;
	for (let attempt = 0; attempt < attempts; attempt++) {
		const port = options.port ?? freePort();
		try {
			return await launch(binary, dir, port);
		} catch (error) {
			lastError = error;
		}
	}
	throw lastError;
}

async function launch(binary: string, dir: string, port: number): Promise<RedisServer> {
	const output: string[] = [];
	const child = Bun.spawn(
		[
			binary,
			"--bind",
			"127.0.0.1",
			"--port",
			String(port),
			"--dir",
			dir,
			"--appendonly",
			"no",
			"--save",
			"",
			"--daemonize",
			"no",
			"--logfile",
			"",
			"--loglevel",
			"warning",
		],
		{ stdout: "pipe", stderr: "pipe", stdin: "ignore", detached: true }, // own process group: Ctrl-C reaches Herald only
	);
	void collect(child.stdout, output);
	void collect(child.stderr, output);
	const url = `redis://127.0.0.1:${port}`;
	try {
		await waitFor(() => ping(child, url), {
			timeoutMs: 15_000,
			intervalMs: 50,
			what: `redis-server on ${url}`,
		});
	} catch (error) {
		await stopChild(child, 2000);
		const log = output.join("").trim();
		throw new Error(`${error instanceof Error ? error.message : String(error)}${log ? `\n${log}` : ""}`);
	}
	return { url, stop: () => stopChild(child) };
}

async function ping(child: Subprocess, url: string): Promise<void> {
	if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
	const connection = await RespConnection.open(parseRedisUrl(url), 1000);
	try {
		const reply = await connection.send(["PING"]);
		if (reply instanceof RedisReplyError) throw reply;
	} finally {
		connection.close();
	}
}

async function collect(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
	const decoder = new TextDecoder();
	for await (const chunk of stream) {
		into.push(decoder.decode(chunk));
		if (into.length > 200) into.shift();
	}
}
