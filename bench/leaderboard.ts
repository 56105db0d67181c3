/**
 * Leaderboards (issue 15), two figures in one run:
 *
 * 1. `GET /api/v1/leaderboard/:id` (top page + the caller's neighbours,
 *    through the in-process single-flight cache) beside `GET /health` and
 *    `GET /api/v1/users/me` (the same authentication, nothing else) on the
 *    same `api` process, same load tool, alternating rounds.
 *    Goal: >= 0.8 of /health req/s.
 * 2. The "around me" Lua call (one EVALSHA through the REST gateway: a page
 *    of 10 plus 2 neighbours each side of one member, with ranks) on a board
 *    of BENCH_MEMBERS members (100,000 by default; 1,000,000 with
 *    BENCH_MEMBERS=1000000), p50/p99 over sequential calls for random
 *    members, and Redis memory for the board (MEMORY USAGE of the sorted set
 *    and its version hash). Goal: p99 <= 5 ms at the Redis call.
 *
 * Backing services embedded as in tests. The machine is shared: figures are
 * from a loaded box unless said otherwise.
 */
import postgres from "postgres";
import { createLeaderboards } from "../src/fitness/leaderboard.ts";
import { leaderboardKeys } from "../src/fitness/leaderboard-keys.ts";
import { createRedis } from "../src/infra/redis/client.ts";
import { type ApiUnderTest, startApiOnEmbedded } from "./lib/api.ts";
import { type LoadResult, loadTool } from "./lib/load.ts";
import { fmt, knob, machine, median, summary } from "./lib/proc.ts";

async function json(base: string, path: string, init: { method?: string; token?: string; body?: unknown }) {
	const res = await fetch(`${base}${path}`, {
		method: init.method ?? "GET",
		headers: {
			"content-type": "application/json",
			...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
		},
		body: init.body === undefined ? undefined : JSON.stringify(init.body),
	});
	if (!res.ok) throw new Error(`${init.method ?? "GET"} ${path} answered ${res.status}: ${await res.text()}`);
	return res.status === 204 ? undefined : res.json();
}

const percentile = (xs: number[], p: number) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

export async function runLeaderboard(): Promise<void> {
	const seconds = knob("BENCH_SECONDS", 3);
	const rounds = knob("BENCH_ROUNDS", 3);
	const connections = knob("BENCH_CONNECTIONS", 16);
	const members = knob("BENCH_MEMBERS", 100_000);
	const calls = knob("BENCH_CALLS", 2000);
	const tool = loadTool();
	console.log("== leaderboard: GET /api/v1/leaderboard/:id vs GET /health; around-me at the Redis call ==");
	let server: ApiUnderTest | undefined;
	try {
		server = await startApiOnEmbedded("leaderboard", { env: { AUTH_LIMIT_PER_ADDRESS: "100000" } });
		const base = server.base;
		const reg = await json(base, "/api/v1/auth/register", {
			method: "POST",
			body: { email: "bench@example.com", password: "benchmark password", displayName: "Bench" },
		});
		const token = reg.accessToken as string;
		const c = await json(base, "/api/v1/competitions", {
			method: "POST",
			token,
			body: {
				name: "Bench",
				metric: "steps",
				timeZone: "UTC",
				startsAt: new Date(Date.now() - 3_600_000).toISOString(),
				endsAt: new Date(Date.now() + 86_400_000).toISOString(),
			},
		});
		await json(base, `/api/v1/competitions/${c.id}`, { method: "PATCH", token, body: { status: "open" } });
		await json(base, `/api/v1/competitions/${c.id}/join`, { method: "POST", token });
		const end = Date.now() - 60_000;
		await json(base, "/api/v1/fitness/sync", {
			method: "POST",
			token,
			body: {
				items: [
					{
						source: "phone",
						externalId: "w",
						startedAt: new Date(end - 1_800_000).toISOString(),
						endedAt: new Date(end).toISOString(),
						steps: 4000,
					},
				],
			},
		});

		// The board with `members` participants: rows in Postgres (users + scores), then the rebuild.
		const env = server.serviceEnv;
		const sql = postgres(env.DATABASE_URL!, { max: 2, onnotice: () => {} });
		const seeded = performance.now();
		await sql`
			with u as (
				insert into users (email, display_name)
				select 'member' || i || '@bench.example', 'member ' || i from generate_series(1, ${members}) i
				returning id
			), p as (
				insert into competition_participants (competition_id, user_id) select ${c.id}, id from u returning user_id
			)
			insert into competition_scores (competition_id, user_id, score, reached_at)
			select ${c.id}, user_id, (random() * 200000)::int, now() - (random() * interval '1 hour') from p`;
		const redis = createRedis({ url: env.UPSTASH_REDIS_REST_URL!, token: env.UPSTASH_REDIS_REST_TOKEN! });
		const boards = createLeaderboards(redis);
		const t0 = performance.now();
		await boards.rebuild(sql, c.id);
		const rebuildMs = performance.now() - t0;
		const seedMs = t0 - seeded;
		const k = leaderboardKeys(c.id);
		const card = await redis.zcard(k.board);
		const memBoard = Number(
			await redis.eval("return redis.call('MEMORY', 'USAGE', KEYS[1], 'SAMPLES', '0')", [k.board], []),
		);
		const memVersions = Number(
			await redis.eval("return redis.call('MEMORY', 'USAGE', KEYS[1], 'SAMPLES', '0')", [k.versions], []),
		);

		// 2. around-me at the Redis call (one script run per call).
		const ids = (
			await sql<{ user_id: string }[]>`
			select user_id::text from competition_scores where competition_id = ${c.id} order by random() limit ${calls}`
		).map((r) => r.user_id);
		const startsAtMs = new Date(c.startsAt).getTime();
		for (const id of ids.slice(0, 50))
			await boards.read(c.id, startsAtMs, { limit: 10, around: 2, users: [id] });
		const lat: number[] = [];
		for (const id of ids) {
			const s = performance.now();
			await boards.read(c.id, startsAtMs, { limit: 10, around: 2, users: [id] });
			lat.push(performance.now() - s);
		}
		const ping: number[] = [];
		for (let i = 0; i < 500; i++) {
			const s = performance.now();
			await redis.ping();
			ping.push(performance.now() - s);
		}
		await sql.end();

		// 1. GET leaderboard vs /health.
		const auth = { authorization: `Bearer ${token}` };
		const path = `${base}/api/v1/leaderboard/${c.id}`;
		const check = await fetch(path, { headers: auth });
		if (check.status !== 200) throw new Error(`GET leaderboard answered ${check.status}`);
		await tool.run(path, { connections, seconds: 2, headers: auth });
		await tool.run(`${base}/health`, { connections, seconds: 1 });
		const health: LoadResult[] = [];
		const me: LoadResult[] = [];
		const board: LoadResult[] = [];
		for (let i = 0; i < rounds; i++) {
			health.push(await tool.run(`${base}/health`, { connections, seconds }));
			me.push(await tool.run(`${base}/api/v1/users/me`, { connections, seconds, headers: auth }));
			board.push(await tool.run(path, { connections, seconds, headers: auth }));
		}
		const fig = (rs: LoadResult[]) => ({
			rps: median(rs.map((r) => r.rps)),
			p50: median(rs.map((r) => r.p50Ms)),
			p99: median(rs.map((r) => r.p99Ms)),
			bad: rs.reduce((n, r) => n + r.non2xx + r.errors, 0),
		});
		const h = fig(health);
		const m = fig(me);
		const b = fig(board);
		const line = (name: string, f: typeof h) =>
			`  ${name.padEnd(34)} ${fmt(f.rps).padStart(8)} req/s   p50 ${f.p50.toFixed(2)} ms   p99 ${f.p99.toFixed(2)} ms   ${f.bad} errors/non-2xx`;
		const ratio = b.rps / h.rps;
		const p99 = percentile(lat, 99);
		const lines = [
			`leaderboard (board of ${fmt(card)} members; GET figures are medians over rounds):`,
			line("GET /health", h),
			line("GET /api/v1/users/me (auth only)", m),
			line("GET /api/v1/leaderboard/:id", b),
			`  ratio leaderboard / health = ${ratio.toFixed(2)} (LEADERBOARD_CACHE_MS default 500); goal >= 0.8: ${ratio >= 0.8 ? "MET" : "NOT MET"}; leaderboard / users-me (the same authentication) = ${(b.rps / m.rps).toFixed(2)}`,
			`  around-me Lua call (page 10 + 2 neighbours + ranks), ${lat.length} sequential calls: p50 ${percentile(lat, 50).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (PING through the same gateway: p50 ${percentile(ping, 50).toFixed(2)} ms, p99 ${percentile(ping, 99).toFixed(2)} ms); goal p99 <= 5 ms: ${p99 <= 5 ? "MET" : "NOT MET"}`,
			`  Redis memory: sorted set ${fmt(memBoard / 1_048_576, 1)} MiB + version hash ${fmt(memVersions / 1_048_576, 1)} MiB (${fmt((memBoard + memVersions) / card)} B/member); seeding ${fmt(seedMs)} ms, rebuild from Postgres ${fmt(rebuildMs)} ms`,
			`  measured with: ${tool.name} [${tool.note}], ${connections} connections, ${rounds} rounds x ${seconds} s per path, alternating; one caller (cache hits); \`bun src/main.ts api\` on embedded PostgreSQL + Temporal + Redis gateway; the around-me client is this process through the REST gateway; ${machine()}`,
		];
		console.log(lines.join("\n"));
		await summary(lines);
	} finally {
		await server?.stop(5000);
		server?.removeDataDir();
	}
}

if (import.meta.main) await runLeaderboard();
