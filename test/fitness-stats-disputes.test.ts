/**
 * Fitness stats (days in the profile zone, DST days, streaks, co-participant
 * visibility) and disputes (window, participants only, BOLA), against the
 * real API, Postgres and Redis.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freeze } from "../src/fitness/standings.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { join, openCompetition, sync, walk } from "./support/fitness.ts";
import { type Registered, register } from "./support/tokens.ts";

let t: TestApp;
let organiser: Registered;

beforeAll(async () => {
	t = await startTestApp({ LEADERBOARD_CACHE_MS: "0" });
	organiser = await register(t);
});
afterAll(async () => {
	await t.stop();
});

describe("stats", () => {
	test("per day in the profile zone (DST days included), overlaps once, streaks, competitions; strangers get 404", async () => {
		const user = await register(t);
		const mate = await register(t);
		const stranger = await register(t);
		await t.db.sql`update users set timezone = 'Europe/Berlin' where id = ${user.userId}`;
		const c = await openCompetition(t, organiser.accessToken);
		await join(t, user.accessToken, c.id);
		await join(t, mate.accessToken, c.id);
		await sync(t, user.accessToken, [
			walk("watch", "a", 3000, { minutes: 30, endsAgoMin: 20 }),
			walk("phone", "b", 2400, { minutes: 30, endsAgoMin: 20 }),
			{ ...walk("phone", "m", 9999), manual: true },
		]);
		const own = await t.request("GET", `/api/v1/fitness/stats/${user.userId}?days=60`, {
			token: user.accessToken,
		});
		expect(own.status).toBe(200);
		expect(own.body.timeZone).toBe("Europe/Berlin");
		expect(own.body.days.length).toBe(60);
		const total = own.body.days.reduce((a: number, d: any) => a + d.steps, 0);
		expect(total).toBe(3000);
		expect(own.body.streaks.current).toBe(1);
		expect(own.body.bests.steps.value).toBeGreaterThan(0);
		// 60 days back from early December crosses the end of summer time: a 25-hour day.
		const hours = new Set(own.body.days.map((d: any) => d.hours));
		expect(hours.has(24)).toBe(true);
		expect(hours.has(25)).toBe(true);
		expect([...hours].every((h) => h === 23 || h === 24 || h === 25)).toBe(true);
		expect(own.body.competitions).toEqual([
			expect.objectContaining({
				competitionId: c.id,
				name: "Step challenge",
				metric: "steps",
				status: "open",
				score: 3000,
				rank: 1,
				timeZone: "Europe/Berlin",
			}),
		]);
		expect(
			(await t.request("GET", `/api/v1/fitness/stats/${user.userId}`, { token: mate.accessToken })).status,
		).toBe(200);
		const hidden = await t.request("GET", `/api/v1/fitness/stats/${user.userId}`, {
			token: stranger.accessToken,
		});
		expect(hidden.status).toBe(404);
		expect(
			(await t.request("GET", `/api/v1/fitness/stats/${crypto.randomUUID()}`, { token: user.accessToken }))
				.status,
		).toBe(404);
		expect(
			(await t.request("GET", `/api/v1/fitness/stats/${user.userId}?days=0`, { token: user.accessToken }))
				.status,
		).toBe(422);
		expect((await t.request("GET", `/api/v1/fitness/stats/${user.userId}`)).status).toBe(401);
	});
});

describe("disputes", () => {
	test("only participants, only in the window after the freeze; a rejection changes nothing; BOLA is 404", async () => {
		const c = await openCompetition(t, organiser.accessToken);
		const [a, b, outsider] = await Promise.all([register(t), register(t), register(t)]);
		await join(t, a.accessToken, c.id);
		await join(t, b.accessToken, c.id);
		const file = (token: string, subjectUserId: string) =>
			t.request("POST", `/api/v1/competitions/${c.id}/disputes`, {
				token,
				body: { subjectUserId, reason: "too fast" },
			});
		expect((await file(a.accessToken, b.userId)).status).toBe(409); // not frozen yet
		await freeze(t.db.sql, c.id);
		expect((await file(outsider.accessToken, b.userId)).status).toBe(404);
		expect((await file(organiser.accessToken, b.userId)).status).toBe(403);
		expect((await file(a.accessToken, outsider.userId)).status).toBe(404);
		const filed = await file(a.accessToken, b.userId);
		expect(filed.status).toBe(201);
		expect(
			(await t.request("GET", `/api/v1/competitions/${c.id}/disputes`, { token: b.accessToken })).body,
		).toHaveLength(1);
		expect(
			(await t.request("GET", `/api/v1/competitions/${c.id}/disputes`, { token: outsider.accessToken }))
				.status,
		).toBe(404);
		const resolve = (token: string, decision: string) =>
			t.request("POST", `/api/v1/competitions/${c.id}/disputes/${filed.body.id}/resolve`, {
				token,
				body: { decision },
			});
		expect((await resolve(a.accessToken, "rejected")).status).toBe(403);
		expect((await resolve(organiser.accessToken, "rejected")).body.status).toBe("rejected");
		expect((await resolve(organiser.accessToken, "upheld")).status).toBe(409);
		const versions = await t.db.sql`select version from standings_snapshots where competition_id = ${c.id}`;
		expect(versions.map((v) => v.version)).toEqual([1]);
		// The default dispute window (a day) is still open.
		const early = await t.request("POST", `/api/v1/prizes/distribute/${c.id}`, {
			token: organiser.accessToken,
		});
		expect(early.status).toBe(409);
		expect(early.body.error.message).toMatch(/dispute window/);
	});
});
