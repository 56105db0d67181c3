/**
 * A competition's own time zone defines its days (Europe/Berlin: a 23-hour
 * day on 2026-03-29, a 25-hour day on 2026-10-25): the 100,000 steps/day
 * check for records in the competition, the per-competition day figures and
 * streaks. The profile zone still defines personal stats. Real API, Postgres.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Temporal } from "temporal-polyfill";
import { checkDays } from "../src/fitness/sync-checks.ts";
import type { Prepared } from "../src/fitness/sync-service.ts";
import { dateAt, zoneDays } from "../src/fitness/zone-days.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { join, openCompetition, sync } from "./support/fitness.ts";
import { type Registered, register } from "./support/tokens.ts";

let t: TestApp;
let organiser: Registered;
let competitionId: string;
const BERLIN = "Europe/Berlin";

beforeAll(async () => {
	t = await startTestApp({ LEADERBOARD_CACHE_MS: "0" });
	organiser = await register(t);
	const c = await openCompetition(t, organiser.accessToken, {
		timeZone: BERLIN,
		startsAt: "2026-03-28T00:00:00+01:00",
		endsAt: new Date(Date.now() + 3 * 86_400_000).toISOString(),
	});
	competitionId = c.id;
});
afterAll(async () => {
	await t.stop();
});

/** A walk written by a device on UTC (+00:00), `minutes` long, starting at `start` (UTC). */
const walk = (externalId: string, start: string, minutes: number, steps: number) => ({
	source: "watch",
	externalId,
	kind: "walk",
	startedAt: new Date(start).toISOString().replace("Z", "+00:00"),
	endedAt: new Date(new Date(start).getTime() + minutes * 60_000).toISOString().replace("Z", "+00:00"),
	steps,
});

describe("zone days", () => {
	test("Berlin's DST days last 23 and 25 hours", () => {
		const spring = zoneDays(Date.parse("2026-03-29T12:00:00Z"), Date.parse("2026-03-29T12:01:00Z"), BERLIN);
		expect(spring).toEqual([
			{
				date: "2026-03-29",
				startMs: Date.parse("2026-03-28T23:00:00Z"),
				endMs: Date.parse("2026-03-29T22:00:00Z"),
			},
		]);
		const autumn = zoneDays(Date.parse("2026-10-25T22:30:00Z"), Date.parse("2026-10-25T22:31:00Z"), BERLIN);
		expect(autumn).toEqual([
			{
				date: "2026-10-25",
				startMs: Date.parse("2026-10-24T22:00:00Z"),
				endMs: Date.parse("2026-10-25T23:00:00Z"),
			},
		]);
		expect(dateAt(Date.parse("2026-10-25T22:30:00Z"), BERLIN).toString()).toBe("2026-10-25");
		expect(dateAt(Date.parse("2026-10-25T22:30:00Z"), "UTC").toString()).toBe("2026-10-25");
		expect(Temporal.PlainDate.from("2026-03-29").toZonedDateTime(BERLIN).hoursInDay).toBe(23);
	});

	test("a record is checked on its competition's days; outside competitions on the device's day", () => {
		const p = {
			item: { startedAt: "2026-03-28T23:30:00+00:00" },
			startedAt: new Date("2026-03-28T23:30:00Z"),
			endedAt: new Date("2026-03-28T23:40:00Z"),
		} as unknown as Prepared;
		const c = {
			starts_at: new Date("2026-03-01T00:00:00Z"),
			ends_at: new Date("2026-04-30T00:00:00Z"),
			time_zone: BERLIN,
		};
		expect(checkDays(p, [c])).toEqual([
			[Date.parse("2026-03-28T23:00:00Z"), Date.parse("2026-03-29T22:00:00Z")],
		]);
		expect(checkDays(p, [])).toEqual([
			[Date.parse("2026-03-28T00:00:00Z"), Date.parse("2026-03-29T00:00:00Z")],
		]);
	});
});

describe("the per-day steps check uses the competition's zone", () => {
	const days = [
		// 2026-03-29 in Berlin (23 h): 28 23:00Z .. 29 22:00Z. On the device's UTC days
		// the first walk is 1/5 on the 28th, so the 29th (UTC) has 48,000 + 50,000.
		{ name: "23-hour spring day", a: "2026-03-28T23:00:00Z", b: "2026-03-29T16:00:00Z" },
		// 2026-10-25 in Berlin (25 h): 24 22:00Z .. 25 23:00Z; the second walk ends in its 25th hour.
		{ name: "25-hour autumn day", a: "2026-10-24T22:00:00Z", b: "2026-10-25T17:59:00Z" },
	];
	for (const day of days)
		test(`${day.name}: 60,000 + 50,000 steps on one Berlin day flag the second sync`, async () => {
			const user = await register(t);
			await join(t, user.accessToken, competitionId);
			const first = await sync(t, user.accessToken, [walk("a", day.a, 300, 60_000)]);
			expect(first.status).toBe(200);
			expect(first.body.items[0].flags).toEqual([]);
			const second = await sync(t, user.accessToken, [walk("b", day.b, 300, 50_000)]);
			expect(second.status).toBe(200);
			expect(second.body.items[0].flags).toEqual(["steps_per_day"]);
			expect(second.body.scores).toEqual([{ competitionId, score: 60_000 }]);
		});

	test("the same walks outside any competition are checked on the device's UTC days: not flagged", async () => {
		const user = await register(t);
		await sync(t, user.accessToken, [walk("a", "2026-03-28T23:00:00Z", 300, 60_000)]);
		const second = await sync(t, user.accessToken, [walk("b", "2026-03-29T16:00:00Z", 300, 50_000)]);
		expect(second.body.items[0].flags).toEqual([]);
	});
});

describe("stats per competition use its zone; personal stats the profile zone", () => {
	test("days of 23 and 25 hours, a walk in the 25th hour counts on its Berlin date, streaks", async () => {
		const user = await register(t);
		await t.db.sql`update users set timezone = 'America/New_York' where id = ${user.userId}`;
		await join(t, user.accessToken, competitionId);
		const res = await sync(t, user.accessToken, [
			walk("s1", "2026-03-28T10:00:00Z", 30, 1000),
			walk("s2", "2026-03-29T21:30:00Z", 20, 2000), // 23:30 Berlin (CEST) on the 29th
			walk("s3", "2026-03-30T06:00:00Z", 30, 3000),
			walk("a1", "2026-10-25T22:10:00Z", 30, 4000), // 23:10 Berlin (CET) on the 25th, its 25th hour
		]);
		expect(res.status).toBe(200);
		expect(res.body.items.every((i: any) => i.flags.length === 0)).toBe(true);
		const stats = await t.request("GET", `/api/v1/fitness/stats/${user.userId}?days=366`, {
			token: user.accessToken,
		});
		expect(stats.status).toBe(200);
		const [c] = stats.body.competitions;
		expect(c.competitionId).toBe(competitionId);
		expect(c.timeZone).toBe(BERLIN);
		expect(c.score).toBe(10_000);
		const byDate = new Map(c.days.map((d: any) => [d.date, d]));
		expect(c.days[0].date).toBe("2026-03-28");
		expect(byDate.get("2026-03-29")).toEqual({ date: "2026-03-29", hours: 23, value: 2000 });
		expect(byDate.get("2026-03-28")).toEqual({ date: "2026-03-28", hours: 24, value: 1000 });
		expect(byDate.get("2026-03-30")).toEqual({ date: "2026-03-30", hours: 24, value: 3000 });
		expect(byDate.get("2026-10-25")).toEqual({ date: "2026-10-25", hours: 25, value: 4000 });
		expect(byDate.get("2026-10-26")).toMatchObject({ value: 0 });
		expect(c.days.reduce((a: number, d: any) => a + d.value, 0)).toBe(10_000);
		expect(c.streaks).toEqual({ current: 0, longest: 3 });
		// Personal days are New York's: 21:30Z on 3-29 is 17:30 there (EDT since 3-08, a 24-hour day),
		// and the autumn walk at 22:10Z is 18:10 on 10-25 (New York changes on 11-01).
		expect(stats.body.timeZone).toBe("America/New_York");
		const personal = new Map(stats.body.days.map((d: any) => [d.date, d]));
		expect(personal.get("2026-03-29")).toMatchObject({ hours: 24, steps: 2000 });
		expect(personal.get("2026-03-28")).toMatchObject({ hours: 24, steps: 1000 });
		expect(personal.get("2026-11-01")).toMatchObject({ hours: 25 });
		expect(stats.body.streaks.longest).toBe(3);
	});
});
