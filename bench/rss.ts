/**
 * Memory of the `api` role: `bun src/main.ts api` in its own process, pointed
 * at real backing services (bench/lib/api.ts: embedded PostgreSQL, Temporal
 * dev server, Redis gateway). VmRSS from /proc/<pid>/status when idle, then
 * sampled while /health and /api/v1/health are hammered together, plus the
 * kernel's high-water mark (VmHWM).
 */
import { type ApiUnderTest, startApiOnEmbedded } from "./lib/api.ts";
import { type LoadResult, loadTool } from "./lib/load.ts";
import { assertNoLeftovers, fmt, knob, machine, readRss, summary } from "./lib/proc.ts";

/** PIDs of this process's direct children (`pgrep -P`). */
function children(): number[] {
	const out = Bun.spawnSync(["pgrep", "-P", String(process.pid)], { stdout: "pipe", stderr: "ignore" });
	return out.stdout
		.toString()
		.split("\n")
		.map((s) => Number(s.trim()))
		.filter((n) => n > 0);
}

export async function runRss(): Promise<void> {
	const seconds = knob("BENCH_RSS_SECONDS", 10);
	const idleSeconds = knob("BENCH_RSS_IDLE_SECONDS", 3);
	const connections = knob("BENCH_CONNECTIONS", 64);
	const tool = loadTool();
	const paths = (process.env.BENCH_RSS_PATHS ?? "/health,/api/v1/health").split(",").filter(Boolean);
	const each = Math.max(1, Math.floor(connections / paths.length));
	const how =
		`\`bun src/main.ts api\` (LOG_LEVEL=info) on embedded PostgreSQL + Temporal dev server (headless) + ` +
		`redis-server/REST gateway from resolveInfra({ embedded: true, ephemeral: true }), migrated with ` +
		`\`bun src/main.ts migrate\`; VmRSS of the api process from /proc/<pid>/status: idle ${idleSeconds} s ` +
		`after it first answered 200 on /api/v1/health, then sampled every 100 ms during ${seconds} s of ` +
		`${tool.name} [${tool.note}] on ${paths.join(" and ")} at once (${each} connections each), ` +
		`VmHWM at the end, and again 3 s after the load; ${machine()}`;
	console.log("== rss: memory of the api role, idle and under load ==");
	console.log(`measured with: ${how}`);
	let h: ApiUnderTest | undefined;
	try {
		h = await startApiOnEmbedded("rss");
		console.log(`  backing services up in ${(h.timings.servicesMs / 1000).toFixed(1)} s`);
		console.log(`  api healthy ${(h.timings.apiMs / 1000).toFixed(2)} s after spawn (pid ${h.api.proc.pid})`);
		const base = h.base;
		const pid = h.api.proc.pid;
		const startup = readRss(pid);
		await Bun.sleep(idleSeconds * 1000);
		const idle = readRss(pid);
		console.log(`  idle: VmRSS ${idle.rssMb.toFixed(1)} MB (at first 200: ${startup.rssMb.toFixed(1)} MB)`);

		let peak = idle.rssMb;
		const sampler = setInterval(() => {
			peak = Math.max(peak, readRss(pid).rssMb);
		}, 100);
		let results: LoadResult[];
		try {
			results = await Promise.all(paths.map((p) => tool.run(`${base}${p}`, { connections: each, seconds })));
		} finally {
			clearInterval(sampler);
		}
		const end = readRss(pid);
		peak = Math.max(peak, end.rssMb);
		await Bun.sleep(3000);
		const after = readRss(pid);
		for (const [i, r] of results.entries())
			console.log(
				`  load ${paths[i]!.padEnd(15)} ${fmt(r.rps).padStart(8)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ` +
					`${r.p99Ms.toFixed(2)} ms  ${r.errors} errors  ${r.non2xx} non-2xx`,
			);
		const lines = [
			"rss (bun src/main.ts api, VmRSS of the api process):",
			`  idle ${idle.rssMb.toFixed(1)} MB   peak under load ${peak.toFixed(1)} MB (sampled; VmHWM ` +
				`${end.hwmMb.toFixed(1)} MB)   3 s after load ${after.rssMb.toFixed(1)} MB`,
			`  load: ${results.map((r, i) => `${paths[i]} ${fmt(r.rps)} req/s`).join(", ")} ` +
				`(${results.reduce((n, r) => n + r.non2xx, 0)} non-2xx, ` +
				`${results.reduce((n, r) => n + r.errors, 0)} socket errors)`,
			`  measured with: ${how}`,
		];
		console.log(lines.join("\n"));
		await summary(lines);
	} finally {
		if (h) {
			await h.stop();
			const left = children();
			if (left.length) console.log(`  LEFTOVER child processes: ${left.join(", ")}`);
			console.log(`  ${await assertNoLeftovers(h.dataDir)}; direct children left: ${left.length}`);
			h.removeDataDir();
		}
	}
}

if (import.meta.main) await runRss();
