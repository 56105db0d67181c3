/**
 * Memory of the `api` role: `bun src/main.ts api` in its own process, pointed
 * at real backing services (embedded PostgreSQL, Temporal dev server, Redis
 * gateway, started here the way test/support/env.ts does). VmRSS from
 * /proc/<pid>/status when idle, then sampled while /health and /api/v1/health
 * are hammered together, plus the kernel's high-water mark (VmHWM).
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/infra/log.ts";
import { type Infra, resolveInfra } from "../src/runtime/infra.ts";
import { type LoadResult, loadTool } from "./lib/load.ts";
import {
	assertNoLeftovers,
	BUN,
	type Child,
	embeddedEnv,
	fmt,
	freePort,
	knob,
	machine,
	migrateDatabase,
	onInterrupt,
	readRss,
	spawnChild,
	stopChild,
	summary,
	waitForHttp,
} from "./lib/proc.ts";

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
	const dataDir = mkdtempSync(join(tmpdir(), "herald-bench-rss-"));
	chmodSync(dataDir, 0o755);
	onInterrupt(async () => rmSync(dataDir, { recursive: true, force: true }));
	const env = embeddedEnv(dataDir);
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
	const log = createLogger("warn", { component: "bench-rss" });
	let infra: Infra | undefined;
	let api: Child | undefined;
	try {
		const t0 = performance.now();
		infra = await resolveInfra(loadConfig(env, { HERALD_ENV: "test", LOG_LEVEL: "warn" }), {
			embedded: true,
			ephemeral: true,
			log,
		});
		const started = infra;
		onInterrupt(() => started.stop());
		console.log(`  backing services up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
		const serviceEnv = {
			...env,
			DATABASE_URL: infra.databaseUrl,
			TEMPORAL_ADDRESS: infra.temporalAddress,
			UPSTASH_REDIS_REST_URL: infra.redisRestUrl,
			UPSTASH_REDIS_REST_TOKEN: infra.redisRestToken,
			// Production mode (like a deployed api) wants a signing key; a throwaway one will do.
			AUTH_JWT_SECRET:
				env.AUTH_JWT_SECRET ?? Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url"),
		};
		await migrateDatabase(serviceEnv);
		const port = freePort();
		const t1 = performance.now();
		api = spawnChild([BUN, "src/main.ts", "api"], {
			...serviceEnv,
			HOST: "127.0.0.1",
			PORT: String(port),
			LOG_LEVEL: "info",
		});
		const base = `http://127.0.0.1:${port}`;
		await waitForHttp(`${base}/api/v1/health`, { timeoutMs: 60_000, child: api });
		console.log(
			`  api healthy ${((performance.now() - t1) / 1000).toFixed(2)} s after spawn (pid ${api.proc.pid})`,
		);
		const pid = api.proc.pid;
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
		if (api) await stopChild(api, 20_000);
		await infra?.stop();
		const left = children();
		if (left.length) console.log(`  LEFTOVER child processes: ${left.join(", ")}`);
		console.log(`  ${await assertNoLeftovers(dataDir)}; direct children left: ${left.length}`);
		rmSync(dataDir, { recursive: true, force: true });
	}
}

if (import.meta.main) await runRss();
