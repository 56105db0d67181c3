/**
 * Start-up time of `bun src/main.ts dev`: from spawn to the first HTTP 200 on
 * GET /api/v1/health, on restarts (a first, unmeasured start does initdb and
 * migrations). Uses a temporary HERALD_DATA_DIR and free ports, so it runs
 * beside a dev server; each run is stopped with SIGTERM and awaited.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
	assertNoLeftovers,
	BUN,
	embeddedEnv,
	fmt,
	freePort,
	knob,
	machine,
	median,
	onInterrupt,
	pgrep,
	spawnChild,
	stopChild,
	summary,
	waitForHttp,
} from "./lib/proc.ts";

const GOAL_SECONDS = 15;
interface Run {
	readonly healthySeconds: number;
	readonly stopSeconds: number;
	readonly exitCode: number | null;
	readonly killed: boolean;
	readonly leftovers: number;
	/** Processes matching the data dir while healthy: shows the leftover check can see them. */
	readonly childrenUp: number;
}

function devEnv(dataDir: string): Record<string, string | undefined> {
	return {
		...embeddedEnv(dataDir),
		HOST: "127.0.0.1",
		LOG_LEVEL: "info",
		PORT: String(freePort()),
		EMBEDDED_POSTGRES_PORT: String(freePort()),
		TEMPORAL_DEV_PORT: String(freePort()),
		TEMPORAL_UI_PORT: String(freePort()),
		REDIS_GATEWAY_PORT: String(freePort()),
		EMBEDDED_REDIS_PORT: String(freePort()),
		METRICS_PORT: String(freePort()),
	};
}

async function once(env: Record<string, string | undefined>, timeoutMs: number): Promise<Run> {
	const url = `http://127.0.0.1:${env.PORT}/api/v1/health`;
	const t0 = performance.now();
	const child = spawnChild([BUN, "src/main.ts", "dev"], env);
	let healthySeconds = Number.NaN;
	let failure: unknown;
	let childrenUp = 0;
	try {
		await waitForHttp(url, { timeoutMs, intervalMs: 50, child });
		healthySeconds = (performance.now() - t0) / 1000;
		childrenUp = pgrep(env.HERALD_DATA_DIR!).length;
	} catch (error) {
		failure = error;
	}
	const stopped = await stopChild(child, 30_000);
	let leftovers = pgrep(env.HERALD_DATA_DIR!).length;
	for (let i = 0; i < 20 && leftovers > 0; i++) {
		await Bun.sleep(250);
		leftovers = pgrep(env.HERALD_DATA_DIR!).length;
	}
	if (failure !== undefined) {
		console.log(child.lines.slice(-30).join("\n"));
		throw failure;
	}
	return {
		healthySeconds,
		stopSeconds: stopped.ms / 1000,
		exitCode: child.proc.exitCode,
		killed: stopped.killed,
		leftovers,
		childrenUp,
	};
}

export async function runStartup(): Promise<void> {
	const runs = knob("BENCH_STARTUP_RUNS", 3);
	const timeoutMs = knob("BENCH_STARTUP_TIMEOUT_SECONDS", 120) * 1000;
	const dataDir = mkdtempSync(join(tmpdir(), "herald-bench-startup-"));
	// Embedded PostgreSQL runs as the `postgres` user when we are root: it must reach its folder.
	chmodSync(dataDir, 0o755);
	onInterrupt(async () => rmSync(dataDir, { recursive: true, force: true }));
	const env = devEnv(dataDir);
	const how =
		`spawn \`bun src/main.ts dev\` -> first HTTP 200 on GET /api/v1/health (polled every 50 ms), ` +
		`LOG_LEVEL=info, HERALD_DATA_DIR=${dataDir}, ports PORT=${env.PORT} pg=${env.EMBEDDED_POSTGRES_PORT} ` +
		`temporal=${env.TEMPORAL_DEV_PORT} ui=${env.TEMPORAL_UI_PORT} gateway=${env.REDIS_GATEWAY_PORT} ` +
		`redis=${env.EMBEDDED_REDIS_PORT}; 1 warm start (initdb, migrations) then ${runs} measured restarts, ` +
		`each stopped with SIGTERM and awaited; ${machine()}`;
	console.log("== startup: `bun src/main.ts dev` to healthy /api/v1/health ==");
	console.log(`measured with: ${how}`);
	const measured: Run[] = [];
	try {
		const warm = await once(env, timeoutMs);
		console.log(
			`  warm start (first, initdb): healthy in ${warm.healthySeconds.toFixed(2)} s, stopped in ` +
				`${warm.stopSeconds.toFixed(2)} s (exit ${warm.exitCode}) (discarded)`,
		);
		for (let i = 1; i <= runs; i++) {
			const r = await once(env, timeoutMs);
			measured.push(r);
			console.log(
				`  restart ${i}: healthy in ${r.healthySeconds.toFixed(2)} s; SIGTERM -> exit ${r.exitCode} in ` +
					`${r.stopSeconds.toFixed(2)} s${r.killed ? " (needed SIGKILL)" : ""}; ` +
					`${r.childrenUp} processes under the data dir while up, ${r.leftovers} left after exit`,
			);
		}
	} finally {
		const leftovers = await assertNoLeftovers(dataDir);
		console.log(`  ${leftovers}`);
		rmSync(dataDir, { recursive: true, force: true });
	}
	const secs = measured.map((r) => r.healthySeconds);
	const med = median(secs);
	const lines = [
		`startup (bun src/main.ts dev -> healthy, ${runs} restarts after a warm start):`,
		`  min ${fmt(Math.min(...secs), 2)} s   median ${fmt(med, 2)} s   max ${fmt(Math.max(...secs), 2)} s ` +
			`(goal < ${GOAL_SECONDS} s: ${Math.max(...secs) < GOAL_SECONDS ? "MET" : med < GOAL_SECONDS ? "MET by median" : "NOT MET"})`,
		`  shutdown on SIGTERM: median ${fmt(median(measured.map((r) => r.stopSeconds)), 2)} s, exit codes ` +
			`${measured.map((r) => r.exitCode).join(",")}, leftovers ${measured.map((r) => r.leftovers).join(",")}`,
		`  measured with: ${how}`,
	];
	console.log(lines.join("\n"));
	await summary(lines);
}

if (import.meta.main) await runStartup();
