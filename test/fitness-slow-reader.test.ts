/**
 * The backpressure close with a reader that really stops reading: a raw TCP
 * client (test/support/stalled-ws-client.py, a child process: Python lets it
 * shrink SO_RCVBUF before connecting, which neither Bun's WebSocket nor its
 * node:net can) does the handshake by hand and then reads nothing, so the
 * kernel buffers fill and Bun queues the rest in user space; past
 * LEADERBOARD_SOCKET_MAX_BUFFERED_BYTES the server closes it with 4429.
 * A reading socket on the same board keeps getting updates.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join as joinPath } from "node:path";
import { CloseCode } from "../src/realtime/hub.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { join, openCompetition, sync, walk } from "./support/fitness.ts";
import { register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

const LIMIT = 65_536;
/** Server send buffer at most (net.ipv4.tcp_wmem max) plus the client's shrunken receive buffer. */
const KERNEL_BYTES = tcpWmemMax() + 64 * 1024;
let t: TestApp;
let port: number;
let stopServer: () => void;

beforeAll(async () => {
	t = await startTestApp({
		LEADERBOARD_PUSH_INTERVAL_MS: "1",
		LEADERBOARD_CACHE_MS: "0",
		LEADERBOARD_SOCKET_MAX_BUFFERED_BYTES: String(LIMIT),
	});
	const served = t.app.listen({ hostname: "127.0.0.1", port: 0 });
	port = served.server!.port!;
	stopServer = () => served.stop();
});
afterAll(async () => {
	stopServer?.();
	await t.stop();
});

function tcpWmemMax(): number {
	try {
		return Number(readFileSync("/proc/sys/net/ipv4/tcp_wmem", "utf8").trim().split(/\s+/)[2]);
	} catch {
		return 4 * 1_048_576;
	}
}

/** Lines of a child's stdout, one at a time. */
function lines(stream: ReadableStream<Uint8Array>) {
	const reader = stream.getReader();
	const decoder = new TextDecoder();
	let buffered = "";
	return async (): Promise<string> => {
		for (;;) {
			const nl = buffered.indexOf("\n");
			if (nl >= 0) {
				const line = buffered.slice(0, nl);
				buffered = buffered.slice(nl + 1);
				return line;
			}
			const { value, done } = await reader.read();
			if (done) throw new Error(`stream ended: ${buffered}`);
			buffered += decoder.decode(value);
		}
	};
}

describe("slow reader over a real socket", () => {
	test("a client that stops reading is closed with 4429; a reading one keeps its updates", async () => {
		const organiser = await register(t);
		const c = await openCompetition(t, organiser.accessToken);
		const runners = await Promise.all(Array.from({ length: 10 }, () => register(t)));
		for (const [i, r] of runners.entries()) {
			await join(t, r.accessToken, c.id);
			await sync(t, r.accessToken, [walk("watch", "w", 100 + i)]);
		}
		const path = `/ws/leaderboard/${c.id}?access_token=${runners[0]!.accessToken}`;
		const child = Bun.spawn(
			[
				"python3",
				joinPath(import.meta.dir, "support", "stalled-ws-client.py"),
				"127.0.0.1",
				String(port),
				path,
			],
			{ stdin: "pipe", stdout: "pipe", stderr: "inherit" },
		);
		try {
			const next = lines(child.stdout);
			expect(await next()).toBe("upgraded");
			// A reading socket on the same board: it gets every update the stalled one was sent.
			let updates = 0;
			let bytes = 0;
			const control = new WebSocket(`ws://127.0.0.1:${port}${path}`);
			control.onmessage = (e) => {
				updates++;
				bytes += String(e.data).length;
			};
			await eventually(() => updates >= 2, { what: "ready and the snapshot on the reading socket" });
			// Pokes as fast as Postgres takes them (each tick sends one update to each socket), until the
			// reading socket got more than the kernel can buffer for the stalled one (tcp_wmem's
			// maximum on the server side, 4 MiB here, plus the client's small receive buffer) plus the limit.
			const enough = KERNEL_BYTES + LIMIT;
			const started = Date.now();
			while (bytes < enough && Date.now() - started < 40_000)
				await Promise.all(
					Array.from({ length: 20 }, () => t.db.sql`select pg_notify('herald_leaderboard', ${c.id})`),
				);
			expect(bytes).toBeGreaterThanOrEqual(enough);
			child.stdin.write("drain\n");
			child.stdin.flush();
			const report = JSON.parse(await next());
			expect(report.close).toBe(CloseCode.slowReader);
			// It was closed before it got everything the reading socket got.
			expect(report.bytes).toBeLessThan(bytes);
			expect(report.frames).toBeGreaterThan(0);
			// The reading socket is still served.
			const before = updates;
			await t.db.sql`select pg_notify('herald_leaderboard', ${c.id})`;
			await eventually(() => updates > before, { what: "an update on the reading socket" });
			control.close();
		} finally {
			child.kill();
		}
	}, 60_000);
});
