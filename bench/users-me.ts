/**
 * Authenticated `GET /api/v1/users/me` (JWT verification + the live-session
 * check, from the in-memory session cache unless AUTH_CACHE_MAX_ENTRIES=0)
 * beside `GET /health` on the same `api` process, same load tool,
 * alternating rounds. Backing services embedded as in tests.
 * Goal (issue 11): ≥ 0.30 of `/health` req/s with p99 < 5 ms at 16 connections.
 */
import { type ApiUnderTest, startApiOnEmbedded } from "./lib/api.ts";
import { type LoadResult, loadTool } from "./lib/load.ts";
import { fmt, knob, machine, median, summary } from "./lib/proc.ts";

export async function runUsersMe(): Promise<void> {
	const seconds = knob("BENCH_SECONDS", 3);
	const rounds = knob("BENCH_ROUNDS", 3);
	const connections = knob("BENCH_CONNECTIONS", 16);
	const tool = loadTool();
	const how =
		`${tool.name} [${tool.note}], ${connections} connections, ${rounds} rounds x ${seconds} s per path, alternating; ` +
		`\`bun src/main.ts api\` (LOG_LEVEL=info, HS256) on embedded PostgreSQL + Temporal + Redis gateway; ${machine()}`;
	console.log("== users-me: authenticated GET /api/v1/users/me vs GET /health ==");
	let server: ApiUnderTest | undefined;
	try {
		server = await startApiOnEmbedded("me");
		const base = server.base;
		const reg = await fetch(`${base}/api/v1/auth/register`, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({
				email: "bench@example.com",
				password: "benchmark password",
				displayName: "Bench",
			}),
		});
		const { accessToken } = (await reg.json()) as { accessToken: string };
		const auth = { authorization: `Bearer ${accessToken}` };
		const check = await fetch(`${base}/api/v1/users/me`, { headers: auth });
		if (check.status !== 200) throw new Error(`GET /users/me answered ${check.status}`);
		await tool.run(`${base}/api/v1/users/me`, { connections, seconds: 2, headers: auth }); // warm-up
		await tool.run(`${base}/health`, { connections, seconds: 1 });
		const health: LoadResult[] = [];
		const me: LoadResult[] = [];
		for (let i = 0; i < rounds; i++) {
			health.push(await tool.run(`${base}/health`, { connections, seconds }));
			me.push(await tool.run(`${base}/api/v1/users/me`, { connections, seconds, headers: auth }));
		}
		const fig = (rs: LoadResult[]) => ({
			rps: median(rs.map((r) => r.rps)),
			p50: median(rs.map((r) => r.p50Ms)),
			p99: median(rs.map((r) => r.p99Ms)),
			bad: rs.reduce((n, r) => n + r.non2xx + r.errors, 0),
		});
		const h = fig(health);
		const m = fig(me);
		const line = (name: string, f: typeof h) =>
			`  ${name.padEnd(22)} ${fmt(f.rps).padStart(8)} req/s   p50 ${f.p50.toFixed(2)} ms   p99 ${f.p99.toFixed(2)} ms   ${f.bad} errors/non-2xx`;
		const ratio = m.rps / h.rps;
		const goal = ratio >= 0.3 && m.p99 < 5;
		const cache = process.env.AUTH_CACHE_MAX_ENTRIES === "0" ? "session cache OFF" : "session cache on";
		const lines = [
			"users-me (medians over rounds):",
			line("GET /health", h),
			line("GET /api/v1/users/me", m),
			`  ratio users/me / health = ${ratio.toFixed(2)} (${cache}); goal >= 0.30 with p99 < 5 ms: ${goal ? "MET" : "NOT MET"}`,
			`  measured with: ${how}`,
		];
		console.log(lines.join("\n"));
		await summary(lines);
	} finally {
		await server?.stop(5000);
		server?.removeDataDir();
	}
}

if (import.meta.main) await runUsersMe();
