/**
 * The leaderboard's contract as properties, against real Postgres and Redis:
 * after random syncs, replayed batches, late (stale) Redis writes, leaves,
 * rejoins and a rebuild running concurrently with syncs, the Redis order
 * equals SQL's `ORDER BY score DESC, reached_at, user_id`, and every rank is
 * 1 + the number of strictly better entries. Plus the composite score's
 * exactness and the overlap rule as pure properties.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createCompetitionService } from "../src/fitness/competitions-service.ts";
import { createLeaderboards, type ScoreRow, scoreRows } from "../src/fitness/leaderboard.ts";
import {
	compositeScore,
	decodeComposite,
	leaderboardKeys,
	MAX_ELAPSED,
} from "../src/fitness/leaderboard-keys.ts";
import { createLeaderboardService } from "../src/fitness/leaderboard-service.ts";
import { MAX_SCORE } from "../src/fitness/model.ts";
import { scoreRecords } from "../src/fitness/scoring.ts";
import { createSyncService } from "../src/fitness/sync-service.ts";
import { startTestApp, type TestApp } from "./support/app.ts";

let t: TestApp;
beforeAll(async () => {
	t = await startTestApp();
});
afterAll(async () => {
	await t.stop();
});

describe("composite score", () => {
	test("decodes to the score and the second it was reached, and orders as (score desc, reached asc)", () => {
		const start = Date.UTC(2030, 0, 1, 0, 0, 0, 123);
		const arb = fc.record({
			score: fc.integer({ min: 0, max: MAX_SCORE }),
			elapsed: fc.integer({ min: 0, max: MAX_ELAPSED }),
		});
		fc.assert(
			fc.property(arb, arb, (a, b) => {
				const at = (e: number) => Math.floor(start / 1000) * 1000 + e * 1000;
				const ca = compositeScore(a.score, at(a.elapsed), start);
				const cb = compositeScore(b.score, at(b.elapsed), start);
				expect(Number.isSafeInteger(ca)).toBe(true);
				expect(decodeComposite(ca, start)).toEqual({ score: a.score, reachedAtMs: at(a.elapsed) });
				const expected = a.score !== b.score ? b.score - a.score : a.elapsed - b.elapsed;
				expect(Math.sign(ca - cb)).toBe(Math.sign(expected));
			}),
		);
	});
});

describe("overlap rule", () => {
	test("two sources never add up: the score is between the best single source and their sum", () => {
		const rec = fc.record({
			start: fc.integer({ min: 0, max: 600 }),
			len: fc.integer({ min: 1, max: 120 }),
			value: fc.integer({ min: 0, max: 5000 }),
		});
		fc.assert(
			fc.property(fc.array(rec, { maxLength: 5 }), fc.array(rec, { maxLength: 5 }), (watch, phone) => {
				const toRecords = (source: string, list: typeof watch) => {
					// One source's records do not overlap: lay them end to end.
					let at = 0;
					return list.map((r) => {
						const startedAtMs = (at + r.start) * 60_000;
						at += r.start + r.len;
						return { source, startedAtMs, endedAtMs: startedAtMs + r.len * 60_000, value: r.value };
					});
				};
				const w = toRecords("watch", watch);
				const p = toRecords("phone", phone);
				const end = 10 ** 9;
				const both = scoreRecords([...w, ...p], 0, end);
				const sw = scoreRecords(w, 0, end);
				const sp = scoreRecords(p, 0, end);
				expect(both).toBeGreaterThanOrEqual(Math.max(sw, sp) - 1);
				expect(both).toBeLessThanOrEqual(sw + sp + 1);
				// The same records from a second device change nothing.
				expect(scoreRecords([...w, ...w.map((r) => ({ ...r, source: "copy" }))], 0, end)).toBe(sw);
			}),
		);
	});
});

type Op =
	| { kind: "sync"; user: number; id: number; steps: number; version: number; deleted: boolean }
	| { kind: "replay" }
	| { kind: "late"; back: number }
	| { kind: "leave"; user: number }
	| { kind: "join"; user: number }
	| { kind: "rebuild" };

const USERS = 6;
const opArb: fc.Arbitrary<Op> = fc.oneof(
	{
		weight: 6,
		arbitrary: fc.record({
			kind: fc.constant("sync" as const),
			user: fc.nat(USERS - 1),
			id: fc.nat(3),
			steps: fc.integer({ min: 0, max: 4 }).map((n) => n * 100),
			version: fc.nat(4),
			deleted: fc.boolean(),
		}),
	},
	{ weight: 2, arbitrary: fc.constant({ kind: "replay" as const }) },
	{ weight: 2, arbitrary: fc.record({ kind: fc.constant("late" as const), back: fc.nat(20) }) },
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant("leave" as const), user: fc.nat(USERS - 1) }) },
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant("join" as const), user: fc.nat(USERS - 1) }) },
	{ weight: 1, arbitrary: fc.constant({ kind: "rebuild" as const }) },
);

describe("redis order equals sql order", () => {
	test("after random syncs, retries, late writes, leaves, rejoins and concurrent rebuilds", async () => {
		const sql = t.db.sql;
		const boards = createLeaderboards(t.services.redis);
		const competitions = createCompetitionService({ sql, boards });
		const syncs = createSyncService({ sql, competitions, futureToleranceMs: 60_000 });
		const organiser = await newUser();
		await fc.assert(
			fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 25 }), async (ops) => {
				const users = await Promise.all(Array.from({ length: USERS }, () => newUser()));
				const c = await competitions.create(organiser, {
					name: "prop",
					metric: "steps",
					timeZone: "UTC",
					startsAt: new Date(Date.now() - 3_600_000).toISOString(),
					endsAt: new Date(Date.now() + 3_600_000).toISOString(),
				});
				await competitions.update(organiser, c.id, { status: "open" });
				for (const u of users) await competitions.join(u, c.id);
				const startsAt = new Date(c.startsAt).getTime();
				const history: ScoreRow[] = [];
				const batches: Array<[string, object[]]> = [];
				const end = Date.now() - 60_000;
				for (const op of ops) {
					if (op.kind === "sync" || op.kind === "rebuild") {
						const doSync = async (o: Extract<Op, { kind: "sync" }>) => {
							const items = [
								{
									source: "phone",
									externalId: `r${o.id}`,
									version: o.version,
									deleted: o.deleted,
									startedAt: new Date(end - 600_000).toISOString(),
									endedAt: new Date(end).toISOString(),
									steps: o.steps,
								},
							];
							batches.push([users[o.user]!, items]);
							await syncs.sync(users[o.user]!, items as never);
						};
						if (op.kind === "sync") await doSync(op);
						else
							await Promise.all([
								boards.rebuild(sql, c.id),
								doSync({ kind: "sync", user: 0, id: 0, steps: 400, version: 9, deleted: false }),
							]);
					} else if (op.kind === "replay" && batches.length > 0) {
						const [user, items] = batches[batches.length - 1]!;
						await syncs.sync(user, items as never);
					} else if (op.kind === "late" && history.length > 0) {
						await boards.apply(c.id, startsAt, [history[Math.max(0, history.length - 1 - op.back)]!]);
					} else if (op.kind === "leave") await competitions.leave(users[op.user]!, c.id);
					else if (op.kind === "join") await competitions.join(users[op.user]!, c.id);
					history.push(...(await scoreRows(sql, c.id)));
				}
				const expected = await sql<{ user_id: string }[]>`
					select user_id::text from competition_scores where competition_id = ${c.id} and not removed
					order by score desc, reached_at, user_id`;
				const k = leaderboardKeys(c.id);
				const inRedis = await t.services.redis.zrange<string[]>(k.board, 0, -1);
				expect(inRedis).toEqual(expected.map((r) => r.user_id));
				const read = await boards.read(c.id, startsAt, { limit: 100, around: 0, users: [] });
				const rows = await scoreRows(sql, c.id);
				const byUser = new Map(rows.map((r) => [r.user_id, r]));
				for (const e of read!.entries) {
					const row = byUser.get(e.userId)!;
					expect(e.score).toBe(row.score);
					expect(e.reachedAt).toBe(row.reached_at.toISOString());
					const better = rows.filter(
						(r) =>
							!r.removed && (r.score > row.score || (r.score === row.score && r.reached_at < row.reached_at)),
					);
					expect(e.rank).toBe(better.length + 1);
				}
			}),
			{ numRuns: 12, seed: 3003 },
		);
	}, 120_000);
});

async function newUser(): Promise<string> {
	const [row] = await t.db.sql<{ id: string }[]>`
		insert into users (email, display_name) values (${`${crypto.randomUUID()}@example.com`}, 'prop') returning id::text`;
	return row!.id;
}

describe("leaderboard GET cache", () => {
	test("a burst of reads from many callers costs Redis a handful of calls, each caller gets its own rank", async () => {
		const sql = t.db.sql;
		const real = createLeaderboards(t.services.redis);
		let calls = 0;
		const boards = {
			...real,
			read: (...args: Parameters<typeof real.read>) => {
				calls++;
				return real.read(...args);
			},
		};
		const competitions = createCompetitionService({ sql, boards });
		const syncs = createSyncService({ sql, competitions, futureToleranceMs: 60_000 });
		const reader = createLeaderboardService({ sql, boards, cacheMs: 60_000 });
		const organiser = await newUser();
		const c = await competitions.create(organiser, {
			name: "burst",
			metric: "steps",
			timeZone: "UTC",
			startsAt: new Date(Date.now() - 3_600_000).toISOString(),
			endsAt: new Date(Date.now() + 3_600_000).toISOString(),
		});
		await competitions.update(organiser, c.id, { status: "open" });
		const users = await Promise.all(Array.from({ length: 40 }, () => newUser()));
		const end = Date.now() - 60_000;
		for (const [i, u] of users.entries()) {
			await competitions.join(u, c.id);
			await syncs.sync(u, [
				{
					source: "p",
					externalId: "w",
					startedAt: new Date(end - 600_000).toISOString(),
					endedAt: new Date(end).toISOString(),
					steps: (i + 1) * 10,
				},
			]);
		}
		const burst = await Promise.all(
			Array.from({ length: 400 }, (_, i) => reader.read(c.id, users[i % users.length]!, { limit: 5 })),
		);
		expect(calls).toBeLessThanOrEqual(3);
		for (const [i, page] of burst.entries()) {
			const index = i % users.length;
			expect(page.me).toMatchObject({
				userId: users[index],
				score: (index + 1) * 10,
				rank: users.length - index,
			});
			expect(page.entries.map((e) => e.score)).toEqual([400, 390, 380, 370, 360]);
		}
		const before = calls;
		await Promise.all(users.map((u) => reader.read(c.id, u, { limit: 5 })));
		expect(calls).toBe(before); // all cached
	});
});
