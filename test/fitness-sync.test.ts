/**
 * Competitions, join/leave, the idempotent sync (versions, deletions,
 * overlaps, plausibility flags, per-item outcomes) and the leaderboard GET,
 * against the real API, Postgres and Redis.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { board, HOUR, join, openCompetition, sync, walk } from "./support/fitness.ts";
import { type Registered, register } from "./support/tokens.ts";

let t: TestApp;
let organiser: Registered;
let alice: Registered;
let bob: Registered;

beforeAll(async () => {
	// No read cache here: every read sees the write before it (the cache has its own test).
	t = await startTestApp({ LEADERBOARD_CACHE_MS: "0" });
	[organiser, alice, bob] = await Promise.all([register(t), register(t), register(t)]);
});
afterAll(async () => {
	await t.stop();
});

describe("competitions", () => {
	test("a draft is the organiser's alone; published ones are seen by everyone; only the organiser changes them", async () => {
		const draft = await t.request("POST", "/api/v1/competitions", {
			token: organiser.accessToken,
			body: {
				name: "Draft",
				metric: "steps",
				timeZone: "America/New_York",
				startsAt: new Date(Date.now() + HOUR).toISOString(),
				endsAt: new Date(Date.now() + 48 * HOUR).toISOString(),
				prizePoolMinor: 10_000,
				payoutBps: [5000, 3000, 2000],
			},
		});
		expect(draft.status).toBe(201);
		expect(draft.body).toMatchObject({ status: "draft", participants: 0, payoutBps: [5000, 3000, 2000] });
		const id = draft.body.id;
		expect((await t.request("GET", `/api/v1/competitions/${id}`, { token: alice.accessToken })).status).toBe(
			404,
		);
		expect(
			(await t.request("POST", `/api/v1/competitions/${id}/join`, { token: alice.accessToken })).status,
		).toBe(404);
		expect((await t.request("GET", `/api/v1/leaderboard/${id}`, { token: alice.accessToken })).status).toBe(
			404,
		);
		const list = await t.request("GET", "/api/v1/competitions?limit=100", { token: alice.accessToken });
		expect(list.body.items.map((c: { id: string }) => c.id)).not.toContain(id);

		const open = await t.request("PATCH", `/api/v1/competitions/${id}`, {
			token: organiser.accessToken,
			body: { status: "open" },
		});
		expect(open.status).toBe(200);
		expect(
			(await t.request("GET", `/api/v1/competitions/${id}`, { token: alice.accessToken })).body.status,
		).toBe("open");
		const foreign = await t.request("PATCH", `/api/v1/competitions/${id}`, {
			token: alice.accessToken,
			body: { name: "Mine" },
		});
		expect(foreign.status).toBe(403);
		const dates = await t.request("PATCH", `/api/v1/competitions/${id}`, {
			token: organiser.accessToken,
			body: { endsAt: new Date(Date.now() + 72 * HOUR).toISOString() },
		});
		expect(dates.status).toBe(409);
		expect(
			(await t.request("DELETE", `/api/v1/competitions/${id}`, { token: organiser.accessToken })).status,
		).toBe(409);
		const cancel = await t.request("PATCH", `/api/v1/competitions/${id}`, {
			token: organiser.accessToken,
			body: { status: "cancelled" },
		});
		expect(cancel.body.status).toBe("cancelled");
		expect(
			(await t.request("DELETE", `/api/v1/competitions/${id}`, { token: alice.accessToken })).status,
		).toBe(403);
		expect(
			(await t.request("DELETE", `/api/v1/competitions/${id}`, { token: organiser.accessToken })).status,
		).toBe(204);
		expect(
			(await t.request("GET", `/api/v1/competitions/${id}`, { token: organiser.accessToken })).status,
		).toBe(404);
	});

	test("bad input is a 422 with the field named, and nothing is written", async () => {
		const base = {
			name: "X",
			metric: "steps",
			timeZone: "UTC",
			startsAt: new Date().toISOString(),
			endsAt: new Date(Date.now() + HOUR).toISOString(),
		};
		const cases: Array<[Record<string, unknown>, string]> = [
			[{ timeZone: "Mars/Olympus" }, "timeZone"],
			[{ endsAt: base.startsAt, startsAt: base.endsAt }, "endsAt"],
			[{ payoutBps: [5000, 3000] }, "payoutBps"],
			[{ startsAt: "2020-01-01T00:00:00Z", endsAt: "2022-01-01T00:00:00Z" }, "endsAt"],
		];
		const before = await t.db.sql`select count(*)::int as n from competitions`;
		for (const [change, field] of cases) {
			const res = await t.request("POST", "/api/v1/competitions", {
				token: organiser.accessToken,
				body: { ...base, ...change },
			});
			expect(res.status).toBe(422);
			expect(res.body.error.details.field).toBe(field);
		}
		expect((await t.request("POST", "/api/v1/competitions", { body: base })).status).toBe(401);
		const after = await t.db.sql`select count(*)::int as n from competitions`;
		expect(after[0]!.n).toBe(before[0]!.n);
	});

	test("join respects the capacity and is idempotent; leave drops the caller from the board", async () => {
		const c = await openCompetition(t, organiser.accessToken, { maxParticipants: 1 });
		await join(t, alice.accessToken, c.id);
		await join(t, alice.accessToken, c.id);
		const full = await t.request("POST", `/api/v1/competitions/${c.id}/join`, { token: bob.accessToken });
		expect(full.status).toBe(409);
		expect((await board(t, alice.accessToken, c.id)).total).toBe(1);
		expect(
			(await t.request("POST", `/api/v1/competitions/${c.id}/leave`, { token: alice.accessToken })).status,
		).toBe(204);
		expect((await board(t, organiser.accessToken, c.id)).total).toBe(0);
		await join(t, bob.accessToken, c.id);
		expect(
			(await t.request("GET", `/api/v1/competitions/${c.id}`, { token: bob.accessToken })).body,
		).toMatchObject({
			participants: 1,
			joined: true,
		});
	});
});

describe("sync", () => {
	test("replaying a batch changes nothing; only a newer version replaces; a deletion recomputes the total", async () => {
		const user = await register(t);
		const c = await openCompetition(t, organiser.accessToken);
		await join(t, user.accessToken, c.id);
		const batch = [walk("phone", "w1", 3000), walk("phone", "w2", 2000, { endsAgoMin: 60 })];
		const first = await sync(t, user.accessToken, batch);
		expect(first.status).toBe(200);
		expect(first.body.items.map((i: { outcome: string }) => i.outcome)).toEqual(["created", "created"]);
		expect(first.body.scores).toEqual([{ competitionId: c.id, score: 5000 }]);
		const [{ version: v1 }] = (await t.db
			.sql`select version::int from competition_scores where user_id = ${user.userId}`) as any;

		const replay = await sync(t, user.accessToken, batch);
		expect(replay.body.items.map((i: { outcome: string }) => i.outcome)).toEqual(["unchanged", "unchanged"]);
		const [{ version: v2 }] = (await t.db
			.sql`select version::int from competition_scores where user_id = ${user.userId}`) as any;
		expect(v2).toBe(v1);

		const newer = await sync(t, user.accessToken, [
			walk("phone", "w1", 3500, { version: 2 }),
			walk("phone", "w2", 9999, { version: 0, endsAgoMin: 60 }),
		]);
		expect(newer.body.items.map((i: { outcome: string }) => i.outcome)).toEqual(["updated", "unchanged"]);
		const older = await sync(t, user.accessToken, [walk("phone", "w1", 1, { version: 1 })]);
		expect(older.body.items[0].outcome).toBe("stale");
		expect((await board(t, user.accessToken, c.id)).me.score).toBe(5500);

		const removed = await sync(t, user.accessToken, [
			walk("phone", "w2", 2000, { version: 1, deleted: true, endsAgoMin: 60 }),
		]);
		expect(removed.body.items[0].outcome).toBe("deleted");
		expect(removed.body.scores[0].score).toBe(3500);
		// A replay of the deleted record's old version cannot bring it back.
		const revived = await sync(t, user.accessToken, [walk("phone", "w2", 2000, { endsAgoMin: 60 })]);
		expect(revived.body.items[0].outcome).toBe("stale");
		expect((await board(t, user.accessToken, c.id)).me.score).toBe(3500);
	});

	test("a watch and a phone counting the same walk count it once (per-minute maximum over sources)", async () => {
		const user = await register(t);
		const c = await openCompetition(t, organiser.accessToken);
		await join(t, user.accessToken, c.id);
		// The same 30 minutes: the watch saw 3000 steps, the phone 2400; then 10 minutes only the phone saw.
		const res = await sync(t, user.accessToken, [
			walk("watch", "a", 3000, { minutes: 30, endsAgoMin: 20 }),
			walk("phone", "b", 2400, { minutes: 30, endsAgoMin: 20 }),
			walk("phone", "c", 800, { minutes: 10, endsAgoMin: 5 }),
		]);
		expect(res.body.scores[0].score).toBe(3800);
	});

	test("implausible and manual records are stored, flagged and not counted; bad items are rejected one by one", async () => {
		const user = await register(t);
		const c = await openCompetition(t, organiser.accessToken);
		await join(t, user.accessToken, c.id);
		const future = walk("phone", "future", 10, { endsAgoMin: -30 });
		const res = await sync(t, user.accessToken, [
			walk("phone", "ok", 1000),
			walk("phone", "fast-steps", 10_000, { minutes: 10 }),
			{ ...walk("phone", "manual", 500), manual: true },
			{ ...walk("phone", "run", 0, { minutes: 10 }), kind: "run", distanceM: 6000 },
			{ ...walk("phone", "ride", 0, { minutes: 60 }), kind: "ride", distanceM: 60_000 },
			{ ...walk("phone", "backwards", 10), endedAt: "2020-01-01T00:00:00Z" },
			future,
		]);
		expect(res.status).toBe(200);
		const by = Object.fromEntries(res.body.items.map((i: any) => [i.externalId, i]));
		expect(by.ok).toMatchObject({ outcome: "created", flags: [] });
		expect(by["fast-steps"].flags).toEqual(["steps_per_minute"]);
		expect(by.manual.flags).toEqual(["manual"]);
		expect(by.run.flags).toEqual(["speed"]);
		expect(by.ride.flags).toEqual([]);
		expect(by.backwards).toMatchObject({ outcome: "rejected", error: { code: "invalid_interval" } });
		expect(by.future).toMatchObject({ outcome: "rejected", error: { code: "in_future" } });
		expect(res.body.scores[0].score).toBe(1000);
		const stored = await t.db
			.sql`select external_id, flags from fitness_records where user_id = ${user.userId} order by external_id`;
		expect(stored.map((r) => r.external_id)).toEqual(["fast-steps", "manual", "ok", "ride", "run"]);
	});

	test("more than 100,000 steps on one local day: the records that pushed it over are flagged", async () => {
		const user = await register(t);
		const c = await openCompetition(t, organiser.accessToken, {
			startsAt: new Date(Date.now() - 72 * HOUR).toISOString(),
		});
		await join(t, user.accessToken, c.id);
		const day = new Date(Date.now() - 36 * HOUR).toISOString().slice(0, 10);
		const at = (h: number) => `${day}T${String(h).padStart(2, "0")}:00:00+00:00`;
		const item = (id: string, from: number, to: number, steps: number) => ({
			source: "watch",
			externalId: id,
			kind: "walk",
			startedAt: at(from),
			endedAt: at(to),
			steps,
		});
		const first = await sync(t, user.accessToken, [item("morning", 6, 11, 60_000)]);
		expect(first.body.items[0].flags).toEqual([]);
		const second = await sync(t, user.accessToken, [
			item("afternoon", 12, 17, 60_000),
			item("evening", 18, 19, 1000),
		]);
		expect(second.body.items.map((i: any) => i.flags)).toEqual([["steps_per_day"], ["steps_per_day"]]);
		expect(second.body.scores[0].score).toBe(60_000);
	});

	test("a record outside every competition's window is stored and moves no score; schema errors are 422", async () => {
		const user = await register(t);
		const c = await openCompetition(t, organiser.accessToken, {
			startsAt: new Date(Date.now() - HOUR).toISOString(),
		});
		await join(t, user.accessToken, c.id);
		const res = await sync(t, user.accessToken, [walk("phone", "old", 4000, { endsAgoMin: 120 })]);
		expect(res.body.items[0].outcome).toBe("created");
		expect(res.body.scores).toEqual([]);
		expect((await sync(t, user.accessToken, [])).status).toBe(422);
		const tiny = {
			source: "p",
			externalId: "x",
			startedAt: "2030-01-01T00:00:00Z",
			endedAt: "2030-01-01T00:01:00Z",
		};
		expect(
			(
				await sync(
					t,
					user.accessToken,
					Array.from({ length: 501 }, () => tiny),
				)
			).status,
		).toBe(422);
		expect((await t.request("POST", "/api/v1/fitness/sync", { body: { items: [] } })).status).toBe(401);
	});
});

describe("leaderboard", () => {
	test("order, shared ranks, the caller's neighbours and keyset pages without gaps or duplicates", async () => {
		const c = await openCompetition(t, organiser.accessToken);
		const users = await Promise.all(Array.from({ length: 7 }, () => register(t)));
		const steps = [500, 900, 900, 300, 1200, 700, 100];
		for (const [i, u] of users.entries()) {
			await join(t, u.accessToken, c.id);
			await sync(t, u.accessToken, [walk("phone", "w", steps[i]!)]);
		}
		const top = await board(t, users[0]!.accessToken, c.id, "?limit=3&around=1");
		expect(top.total).toBe(7);
		expect(top.entries.map((e: any) => e.score)).toEqual([1200, 900, 900]);
		// The two at 900: whoever reached it first, then by user id; the same second is an exact tie (shared rank).
		const [second, third] = [top.entries[1], top.entries[2]];
		expect([second.userId, third.userId].sort()).toEqual([users[1]!.userId, users[2]!.userId].sort());
		if (second.reachedAt === third.reachedAt) {
			expect(second.userId < third.userId).toBe(true);
			expect([second.rank, third.rank]).toEqual([2, 2]);
		} else {
			expect(second.reachedAt < third.reachedAt).toBe(true);
			expect([second.rank, third.rank]).toEqual([2, 3]);
		}
		expect(top.me).toMatchObject({ userId: users[0]!.userId, score: 500, rank: 5 });
		expect(top.neighbours.map((e: any) => [e.score, e.rank])).toEqual([
			[700, 4],
			[500, 5],
			[300, 6],
		]);
		const seen: string[] = [];
		let cursor: string | null = null;
		do {
			const page: any = await board(
				t,
				users[0]!.accessToken,
				c.id,
				`?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
			);
			seen.push(...page.entries.map((e: any) => e.userId));
			cursor = page.nextCursor;
		} while (cursor);
		const expected = await t.db.sql`
			select user_id::text from competition_scores where competition_id = ${c.id} and not removed
			order by score desc, reached_at, user_id`;
		expect(seen).toEqual(expected.map((r) => r.user_id));
		const bad = await t.request("GET", `/api/v1/leaderboard/${c.id}?cursor=nope`, {
			token: alice.accessToken,
		});
		expect(bad.status).toBe(422);
	});

	test("a board Redis lost is rebuilt from Postgres on the next read", async () => {
		const c = await openCompetition(t, organiser.accessToken);
		const u = await register(t);
		await join(t, u.accessToken, c.id);
		await sync(t, u.accessToken, [walk("phone", "w", 4321)]);
		await t.services.redis.del(`herald:lb:{${c.id}}`, `herald:lb:{${c.id}}:v`, `herald:lb:{${c.id}}:built`);
		const fresh = await board(t, u.accessToken, c.id, "?limit=1");
		expect(fresh.me).toMatchObject({ score: 4321, rank: 1 });
		// An explicit rebuild: the organiser's (or an administrator's), not a participant's.
		await t.services.redis.zadd(`herald:lb:{${c.id}}`, { score: -1, member: crypto.randomUUID() });
		const path = `/api/v1/leaderboard/${c.id}/rebuild`;
		expect((await t.request("POST", path, { token: u.accessToken })).status).toBe(403);
		const rebuilt = await t.request("POST", path, { token: organiser.accessToken });
		expect(rebuilt.status).toBe(200);
		expect(rebuilt.body).toEqual({ members: 1 });
		expect(await t.services.redis.zcard(`herald:lb:{${c.id}}`)).toBe(1);
	});
});
