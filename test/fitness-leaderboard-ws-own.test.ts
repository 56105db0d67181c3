/**
 * Leaderboard sockets carry each socket's own rank and neighbours: in the
 * snapshot and in every coalesced update (real sockets), and a tick reads
 * the top page and every watcher's neighbourhood in ONE script run, however
 * many syncs and sockets (the topic against the real Redis board).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createLeaderboards, type Leaderboards } from "../src/fitness/leaderboard.ts";
import { leaderboardTopic } from "../src/fitness/leaderboard-topic.ts";
import { createRedis } from "../src/infra/redis/client.ts";
import type { RealtimeMessage, TopicContext } from "../src/realtime/hub.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { testEnv } from "./support/env.ts";
import { join, openCompetition, sync, walk } from "./support/fitness.ts";
import { type Registered, register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";
import { connectWs, type WsClient } from "./support/ws.ts";

let t: TestApp;
let base: string;
let stopServer: () => void;

beforeAll(async () => {
	t = await startTestApp({ LEADERBOARD_PUSH_INTERVAL_MS: "100", LEADERBOARD_CACHE_MS: "0" });
	const served = t.app.listen({ hostname: "127.0.0.1", port: 0 });
	base = `127.0.0.1:${served.server!.port}`;
	stopServer = () => served.stop();
});
afterAll(async () => {
	stopServer?.();
	await t.stop();
});

async function until(ws: WsClient, match: (m: any) => boolean, timeoutMs = 5000): Promise<any> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const m = await ws.next(Math.max(1, deadline - Date.now()));
		if (match(m)) return m;
	}
}

/** Three runners with 100, 200, 300 steps (ranks 3, 2, 1). */
async function competition(): Promise<{ id: string; organiser: Registered; runners: Registered[] }> {
	const organiser = await register(t);
	const c = await openCompetition(t, organiser.accessToken);
	const runners = await Promise.all([1, 2, 3].map(() => register(t)));
	for (const [i, r] of runners.entries()) {
		await join(t, r.accessToken, c.id);
		await sync(t, r.accessToken, [walk("watch", "w", 100 * (i + 1))]);
	}
	return { id: c.id, organiser, runners };
}

describe("own rank per socket", () => {
	test("snapshot and updates carry the socket's own entry and neighbours; a non-participant gets null", async () => {
		const { id, organiser, runners } = await competition();
		const watchers = [...runners, organiser];
		const sockets = await Promise.all(
			watchers.map((u) => connectWs(base, `/ws/leaderboard/${id}?access_token=${u.accessToken}`)),
		);
		for (const [i, ws] of sockets.entries()) {
			const snapshot = await ws.next();
			expect(snapshot.type).toBe("leaderboard_snapshot");
			expect(snapshot.entries.map((e: any) => e.score)).toEqual([300, 200, 100]);
			if (i < runners.length) {
				expect(snapshot.me).toMatchObject({ userId: runners[i]!.userId, rank: 3 - i, score: 100 * (i + 1) });
				expect(snapshot.neighbours.map((e: any) => e.score)).toEqual([300, 200, 100]);
			} else {
				expect(snapshot.me).toBeNull();
				expect(snapshot.neighbours).toEqual([]);
			}
		}
		// The last runner overtakes everyone: every socket's next state shows its own new rank.
		await sync(t, runners[0]!.accessToken, [walk("watch", "more", 900)]);
		const expected = [1, 3, 2];
		for (const [i, ws] of sockets.entries()) {
			const update = await until(ws, (m) => m.type === "leaderboard_update" && m.entries[0]?.score === 1000);
			if (i < runners.length)
				expect(update.me).toMatchObject({ userId: runners[i]!.userId, rank: expected[i] });
			else expect(update.me).toBeNull();
		}
		for (const ws of sockets) ws.close();
	});

	test("a coalesced tick reads every watcher's neighbourhood in one script run", async () => {
		const { id, organiser, runners } = await competition();
		const infra = await testEnv();
		const real = createLeaderboards(createRedis({ url: infra.redisRestUrl, token: infra.redisRestToken }));
		const reads: string[][] = [];
		const boards: Leaderboards = {
			...real,
			read: (competitionId, startsAtMs, q) => {
				reads.push([...q.users]);
				return real.read(competitionId, startsAtMs, q);
			},
		};
		const users = [...runners.map((r) => r.userId), organiser.userId];
		const sent = new Map<string, RealtimeMessage[]>();
		// Two sockets per user.
		const ctx: TopicContext = {
			sql: t.db.sql,
			log: t.services.log,
			has: () => true,
			send: () => {
				throw new Error("a leaderboard update is per socket");
			},
			watchers: () => users,
			sendEach(_key, messageFor) {
				for (const u of [...users, ...users]) {
					const m = messageFor(u);
					if (m) sent.set(u, [...(sent.get(u) ?? []), m]);
				}
			},
			close: () => {},
			watching: () => true,
		};
		const topic = leaderboardTopic({ boards, intervalMs: 50 });
		for (let i = 0; i < 25; i++) await topic.onNotify("herald_leaderboard", id, ctx);
		await eventually(() => sent.size === users.length);
		expect(reads).toEqual([users]);
		for (const [i, r] of runners.entries()) {
			const [a, b] = sent.get(r.userId) as any[];
			expect(a).toEqual(b);
			expect(a).toMatchObject({
				type: "leaderboard_update",
				total: 3,
				me: { userId: r.userId, rank: 3 - i },
			});
		}
		expect((sent.get(organiser.userId) as any[])[0].me).toBeNull();
	});
});
