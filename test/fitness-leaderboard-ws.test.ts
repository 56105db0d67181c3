/**
 * `WS /ws/leaderboard/:competition_id` with real sockets: a snapshot after
 * "ready", coalesced updates however many syncs arrive, a second API process
 * (a child process, as operators run it) converging through Postgres
 * NOTIFY, 404 before the upgrade for a stranger's draft, and the slow-reader
 * close (the backpressure rule as a unit: a socket that reports unsent bytes
 * past the limit is closed with 4429).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort } from "../src/infra/process.ts";
import { CloseCode } from "../src/realtime/hub.ts";
import { realtimeSockets } from "../src/realtime/sockets.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { HOUR, join, openCompetition, sync, walk } from "./support/fitness.ts";
import { herald, killChildren, type RoleProcess, serviceEnv } from "./support/roles.ts";
import { register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";
import { connectWs, type WsClient } from "./support/ws.ts";

const INTERVAL_MS = 200;
const SECRET = "test-secret-test-secret-test-secret-0123456789";
let t: TestApp;
let base: string;
let stopServer: () => void;
let child: RoleProcess | undefined;
let childBase = "";

beforeAll(async () => {
	t = await startTestApp({ LEADERBOARD_PUSH_INTERVAL_MS: String(INTERVAL_MS), LEADERBOARD_CACHE_MS: "0" });
	const served = t.app.listen({ hostname: "127.0.0.1", port: 0 });
	base = `127.0.0.1:${served.server!.port}`;
	stopServer = () => served.stop();
	const port = freePort();
	childBase = `127.0.0.1:${port}`;
	child = herald(["api"], {
		...(await serviceEnv(t.db.url)),
		HOST: "127.0.0.1",
		PORT: String(port),
		AUTH_JWT_SECRET: SECRET,
		LEADERBOARD_PUSH_INTERVAL_MS: String(INTERVAL_MS),
	});
	await eventually(async () => (await fetch(`http://${childBase}/health`).catch(() => undefined))?.ok, {
		what: "a second api process",
		timeoutMs: 60_000,
	});
}, 90_000);

afterAll(async () => {
	child?.child.kill("SIGTERM");
	await child?.child.exited;
	killChildren();
	stopServer?.();
	await t.stop();
});

/** Messages until one matches, or a timeout. */
async function until(ws: WsClient, match: (m: any) => boolean, timeoutMs = 5000): Promise<any[]> {
	const seen: any[] = [];
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const m = await ws.next(Math.max(1, deadline - Date.now()));
		seen.push(m);
		if (match(m)) return seen;
	}
}

describe("leaderboard socket", () => {
	test("snapshot on connect, then coalesced updates; another API process converges", async () => {
		const organiser = await register(t);
		const runner = await register(t);
		const c = await openCompetition(t, organiser.accessToken);
		await join(t, runner.accessToken, c.id);
		await sync(t, runner.accessToken, [walk("phone", "first", 100)]);

		const here = await connectWs(base, `/ws/leaderboard/${c.id}?access_token=${organiser.accessToken}`);
		const there = await connectWs(childBase, `/ws/leaderboard/${c.id}?access_token=${organiser.accessToken}`);
		for (const ws of [here, there]) {
			const snapshot = await ws.next();
			expect(snapshot).toMatchObject({ type: "leaderboard_snapshot", competitionId: c.id, total: 1 });
			expect(snapshot.entries[0]).toMatchObject({ userId: runner.userId, score: 100, rank: 1 });
		}

		// 20 syncs as fast as they go: each socket gets far fewer updates, the last one final.
		const started = performance.now();
		for (let i = 1; i <= 20; i++) await sync(t, runner.accessToken, [walk("phone", `w${i}`, 10)]);
		const elapsed = performance.now() - started;
		for (const ws of [here, there]) {
			const updates = await until(ws, (m) => m.entries?.[0]?.score === 300);
			expect(updates.every((m) => m.type === "leaderboard_update")).toBe(true);
			// At most one per interval (plus the one in flight when the burst began).
			expect(updates.length).toBeLessThanOrEqual(Math.ceil((elapsed + 1000) / INTERVAL_MS) + 1);
			expect(updates.length).toBeLessThan(20);
		}
		here.close();
		there.close();
	}, 30_000);

	test("a reconnect gets a fresh snapshot; a stranger's draft is 404 before the upgrade; no token is 401", async () => {
		const organiser = await register(t);
		const stranger = await register(t);
		const draft = await t.request("POST", "/api/v1/competitions", {
			token: organiser.accessToken,
			body: {
				name: "Hidden",
				metric: "steps",
				timeZone: "UTC",
				startsAt: new Date().toISOString(),
				endsAt: new Date(Date.now() + HOUR).toISOString(),
			},
		});
		const url = (token: string) => `http://${base}/ws/leaderboard/${draft.body.id}?access_token=${token}`;
		const upgrade = {
			headers: {
				connection: "upgrade",
				upgrade: "websocket",
				"sec-websocket-version": "13",
				"sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
			},
		};
		expect((await fetch(url(stranger.accessToken), upgrade)).status).toBe(404);
		expect((await fetch(`http://${base}/ws/leaderboard/${draft.body.id}`, upgrade)).status).toBe(401);
		const own = await connectWs(
			base,
			`/ws/leaderboard/${draft.body.id}?access_token=${organiser.accessToken}`,
		);
		expect(await own.next()).toMatchObject({ type: "leaderboard_snapshot", total: 0 });
		own.close();
		await own.closed;
		const again = await connectWs(
			base,
			`/ws/leaderboard/${draft.body.id}?access_token=${organiser.accessToken}`,
		);
		expect((await again.next()).type).toBe("leaderboard_snapshot");
		again.close();
	});
});

describe("backpressure", () => {
	test("a socket with more unsent bytes than the limit is closed with 4429; below it stays open", () => {
		let subscriber: any;
		const hub = {
			subscribe: (_t: string, _k: string, _u: string, s: unknown) => {
				subscriber = s;
				return () => {};
			},
		} as any;
		const sockets = realtimeSockets({ auth: {} as any, realtime: hub });
		const closes: number[] = [];
		let buffered = 0;
		const ws = {
			raw: { getBufferedAmount: () => buffered },
			send: () => 1,
			close: (code: number) => closes.push(code),
			data: { principal: { user: { id: "u" } }, tokenExpiresAt: undefined },
		};
		const snapshots: object[] = [];
		sockets.open(ws, "leaderboard", "k", { maxBufferedBytes: 1000, onReady: (send) => snapshots.push(send) });
		subscriber.send({ type: "ready" });
		expect(snapshots.length).toBe(1);
		buffered = 999;
		subscriber.send({ type: "leaderboard_update" });
		expect(closes).toEqual([]);
		buffered = 1001;
		subscriber.send({ type: "leaderboard_update" });
		expect(closes).toEqual([CloseCode.slowReader]);
	});
});
