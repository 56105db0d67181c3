/**
 * Sync (issue 13) on the `api` role as deployed (`bun src/main.ts api`,
 * embedded PostgreSQL + Temporal + Redis gateway). Run by name:
 * `bun bench/run.ts sync` (not in the default set).
 * 1. Push: BENCH_PUSHES pushes of 100 `createContact` mutations each (one
 *    device, sequential), p50/p99 per push, beside one push of 1 mutation
 *    (the per-request floor, same run).
 * 2. Seed to BENCH_ROWS (10,000) rows with one SQL insert (its rows get
 *    one version), then a fresh device pulls everything in pages of 500 (every page
 *    sent back with the previous page's cookie): total time, pages, and the
 *    api process's peak RSS (sampled every 10 ms while pulling; also its
 *    high-water mark) against its RSS before the pull.
 *    Goal: < 1 s.
 * 3. Steady state: BENCH_PULLS pulls with the device's cookie and nothing
 *    new, p50/p99, beside `GET /health` from the same loop (baseline).
 *    Goal: p99 < 5 ms.
 */
import { createSql } from "../src/infra/db/sql.ts";
import { type ApiUnderTest, startApiOnEmbedded } from "./lib/api.ts";
import { fmt, knob, machine, readRss, summary } from "./lib/proc.ts";

const pct = (xs: number[], p: number) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? 0;
};

export async function runSync(): Promise<void> {
	const pushes = knob("BENCH_PUSHES", 30);
	const rowsWanted = knob("BENCH_ROWS", 10_000);
	const pulls = knob("BENCH_PULLS", 300);
	console.log("== sync: push 100 mutations; pull 10,000 rows in pages of 500; empty pulls ==");
	let server: ApiUnderTest | undefined;
	try {
		server = await startApiOnEmbedded("sync");
		const base = server.base;
		const pid = server.api.proc.pid;
		const reg = await fetch(`${base}/api/v1/auth/register`, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({
				email: "sync@example.com",
				password: "benchmark password",
				displayName: "Bench",
			}),
		});
		const { accessToken } = (await reg.json()) as { accessToken: string };
		const headers = { authorization: `Bearer ${accessToken}`, "content-type": "application/json" };
		const call = async (path: string, body: unknown) => {
			const res = await fetch(`${base}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
			if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
			return (await res.json()) as any;
		};
		let made = 0;
		const device = (name: string) => {
			let next = 1;
			return async (count: number) => {
				const mutations = Array.from({ length: count }, () => ({
					id: next++,
					name: "createContact",
					args: { id: Bun.randomUUIDv7(), name: `Contact ${made++}` },
				}));
				const t0 = performance.now();
				const res = await call("/api/v1/sync/push", {
					clientGroupId: name,
					clientId: name,
					schemaVersion: "1",
					mutations,
				});
				if (res.results.length !== count || res.results.some((r: any) => r.status !== "applied"))
					throw new Error(`push: ${JSON.stringify(res.results.slice(0, 3))}`);
				return performance.now() - t0;
			};
		};

		// 1. Push latency: 100 mutations per push, beside single-mutation pushes.
		const phone = device("bench-phone");
		await phone(100); // warm-up
		const single: number[] = [];
		for (let i = 0; i < 20; i++) single.push(await phone(1));
		const hundred: number[] = [];
		for (let i = 0; i < pushes; i++) hundred.push(await phone(100));

		// 2. Seed to the row count in one SQL statement (one commit: its rows share one version), then one full pull.
		const seedT0 = performance.now();
		const db = createSql(server.databaseUrl, { max: 1 });
		try {
			await db`
				insert into contacts (owner_id, name, note)
				select (select id from users where email = 'sync@example.com'), 'Seeded ' || g, repeat('n', 40)
				from generate_series(1, ${Math.max(0, rowsWanted - made)}) g`;
		} finally {
			await db.end();
		}
		const seedSeconds = (performance.now() - seedT0) / 1000;
		const before = readRss(pid);
		let peak = before.rssMb;
		const sampler = setInterval(() => {
			peak = Math.max(peak, readRss(pid).rssMb);
		}, 10);
		const t0 = performance.now();
		let cookie: string | null = null;
		let pages = 0;
		let rows = 0;
		for (;;) {
			const res = await call("/api/v1/sync/pull", { clientGroupId: "bench-laptop", cookie, limit: 500 });
			pages++;
			rows += res.patch.filter((o: any) => o.op === "put").length;
			cookie = res.cookie;
			if (!res.hasMore) break;
		}
		const pullMs = performance.now() - t0;
		clearInterval(sampler);
		peak = Math.max(peak, readRss(pid).rssMb);
		const hwm = readRss(pid).hwmMb;

		// 3. Steady state: nothing new, beside /health from the same loop.
		const empty: number[] = [];
		const health: number[] = [];
		for (let i = 0; i < 30; i++) await call("/api/v1/sync/pull", { clientGroupId: "bench-laptop", cookie });
		for (let i = 0; i < pulls; i++) {
			let s = performance.now();
			const res = await call("/api/v1/sync/pull", { clientGroupId: "bench-laptop", cookie });
			empty.push(performance.now() - s);
			if (res.patch.length !== 0) throw new Error("steady-state pull returned changes");
			s = performance.now();
			await (await fetch(`${base}/health`)).arrayBuffer();
			health.push(performance.now() - s);
		}

		const goal = (ok: boolean) => (ok ? "MET" : "NOT MET");
		const lines = [
			"sync:",
			`  push of 100 createContact mutations (${pushes} pushes, one device): p50 ${pct(hundred, 0.5).toFixed(1)} ms   p99 ${pct(hundred, 0.99).toFixed(1)} ms   ` +
				`(${fmt((100 * 1000) / pct(hundred, 0.5))} mutations/s); push of 1 (baseline): p50 ${pct(single, 0.5).toFixed(2)} ms   p99 ${pct(single, 0.99).toFixed(2)} ms`,
			`  seed: ${fmt(made)} rows by push, the rest to ${fmt(rowsWanted)} by one SQL insert (one commit, ${seedSeconds.toFixed(1)} s)`,
			`  full pull of ${fmt(rows)} rows in ${pages} pages of 500: ${fmt(pullMs)} ms total (${(pullMs / pages).toFixed(1)} ms/page); ` +
				`api RSS ${fmt(before.rssMb)} MB before, peak ${fmt(peak)} MB while pulling (high-water mark ${fmt(hwm)} MB)   goal < 1 s: ${goal(pullMs < 1000)}`,
			`  empty pull (${pulls}, nothing new): p50 ${pct(empty, 0.5).toFixed(2)} ms   p99 ${pct(empty, 0.99).toFixed(2)} ms; ` +
				`GET /health from the same loop (baseline): p50 ${pct(health, 0.5).toFixed(2)} ms   p99 ${pct(health, 0.99).toFixed(2)} ms   goal p99 < 5 ms: ${goal(pct(empty, 0.99) < 5)}`,
			`  measured with: sequential fetch from the bench process (one request at a time, latency per request); ` +
				`\`bun src/main.ts api\` on embedded PostgreSQL + Temporal + Redis gateway; ${machine()}`,
		];
		console.log(lines.join("\n"));
		await summary(lines);
	} finally {
		await server?.stop(5000);
		server?.removeDataDir();
	}
}

if (import.meta.main) await runSync();
