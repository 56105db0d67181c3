/**
 * The leaderboard GET's cached, pre-serialised path: every caller gets the
 * shared page with its own rank and neighbours spliced in, exactly the
 * documented schema, drafts stay 404 to strangers on a warm cache, and a
 * sync shows after the cache's short TTL. Real API, Postgres and Redis.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import { LeaderboardView } from "../src/fitness/model.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { join, openCompetition, sync, walk } from "./support/fitness.ts";
import { type Registered, register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

let t: TestApp;
let organiser: Registered;
const ENTRY_KEYS = ["rank", "userId", "score", "reachedAt"];

beforeAll(async () => {
	t = await startTestApp({ LEADERBOARD_CACHE_MS: "400" });
	organiser = await register(t);
});
afterAll(async () => {
	await t.stop();
});

const get = (token: string, id: string, query = "") =>
	t.request("GET", `/api/v1/leaderboard/${id}${query}`, { token });

describe("leaderboard GET from the cache", () => {
	test("one cached page, each caller's own rank and neighbours, the documented schema exactly", async () => {
		const c = await openCompetition(t, organiser.accessToken);
		const users = await Promise.all([1, 2, 3, 4, 5].map(() => register(t)));
		for (const [i, u] of users.entries()) {
			await join(t, u.accessToken, c.id);
			await sync(t, u.accessToken, [walk("watch", "w", 1000 * (i + 1))]);
		}
		const outsider = await register(t);
		// Concurrent reads: one batch, one page; each caller sees itself.
		const reads = await Promise.all(
			[...users, outsider].map((u) => get(u.accessToken, c.id, "?limit=2&around=1")),
		);
		for (const [i, r] of reads.entries()) {
			expect(r.status).toBe(200);
			expect(r.headers.get("content-type")).toStartWith("application/json");
			expect(Value.Check(LeaderboardView, r.body)).toBe(true);
			expect(Object.keys(r.body)).toEqual([
				"competitionId",
				"status",
				"total",
				"entries",
				"nextCursor",
				"me",
				"neighbours",
			]);
			for (const e of [...r.body.entries, ...r.body.neighbours]) expect(Object.keys(e)).toEqual(ENTRY_KEYS);
			expect(r.body.total).toBe(5);
			expect(r.body.entries.map((e: any) => e.score)).toEqual([5000, 4000]);
			if (i < users.length) {
				const me = users[i]!;
				expect(r.body.me).toMatchObject({ userId: me.userId, rank: 5 - i, score: 1000 * (i + 1) });
				expect(r.body.neighbours.map((e: any) => e.rank)).toEqual(
					[4 - i, 5 - i, 6 - i].filter((rank) => rank >= 1 && rank <= 5),
				);
			} else {
				expect(r.body.me).toBeNull();
				expect(r.body.neighbours).toEqual([]);
			}
		}
		// Warm cache: the same answers again, and the second page is its own cache entry.
		const again = await get(users[0]!.accessToken, c.id, "?limit=2&around=1");
		expect(again.body).toEqual(reads[0]!.body);
		const next = await get(
			users[0]!.accessToken,
			c.id,
			`?limit=2&around=1&cursor=${encodeURIComponent(reads[0]!.body.nextCursor)}`,
		);
		expect(next.body.entries.map((e: any) => e.score)).toEqual([3000, 2000]);
		expect(next.body.me).toEqual(reads[0]!.body.me);
	});

	test("a draft stays 404 to strangers while the organiser's read is cached; BOLA on a warm cache", async () => {
		const created = await t.request("POST", "/api/v1/competitions", {
			token: organiser.accessToken,
			body: {
				name: "Draft",
				metric: "steps",
				timeZone: "UTC",
				startsAt: new Date(Date.now() + 3_600_000).toISOString(),
				endsAt: new Date(Date.now() + 86_400_000).toISOString(),
			},
		});
		expect(created.status).toBe(201);
		const own = await get(organiser.accessToken, created.body.id);
		expect(own.status).toBe(200);
		expect(own.body.status).toBe("draft");
		const stranger = await register(t);
		for (let i = 0; i < 3; i++) {
			const hidden = await get(stranger.accessToken, created.body.id);
			expect(hidden.status).toBe(404);
			expect(hidden.body.error.code).toBe("not_found");
		}
		expect((await t.request("GET", `/api/v1/leaderboard/${created.body.id}`)).status).toBe(401);
		expect((await get(stranger.accessToken, created.body.id, "?cursor=nonsense")).status).toBe(404);
		expect((await get(organiser.accessToken, created.body.id, "?cursor=nonsense")).status).toBe(422);
	});

	test("a sync shows once the short TTL has passed", async () => {
		const c = await openCompetition(t, organiser.accessToken);
		const u = await register(t);
		await join(t, u.accessToken, c.id);
		expect((await get(u.accessToken, c.id)).body.me.score).toBe(0);
		await sync(t, u.accessToken, [walk("watch", "w", 777)]);
		await eventually(async () => (await get(u.accessToken, c.id)).body.me.score === 777);
	});
});
