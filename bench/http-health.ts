/**
 * `GET /health` throughput: the real Herald app (createApp, all middleware,
 * LOG_LEVEL=info) against a raw `Bun.serve` hello-world, each in its own
 * process, same load tool, rounds alternating raw/herald after a warm-up.
 * `--profile` (or BENCH_PROFILE=1) also measures the app with each plugin
 * removed, to show what each one costs.
 */
import { type LoadResult, type LoadTool, loadTool } from "./lib/load.ts";
import {
	BUN,
	type Child,
	cpuSeconds,
	fmt,
	knob,
	machine,
	median,
	spawnChild,
	stopChild,
	summary,
} from "./lib/proc.ts";
import { VARIANTS, type Variant } from "./servers/variants.ts";

const GOAL = 0.8;

export interface Target {
	readonly name: string;
	readonly child: Child;
	readonly url: string;
}

export async function startTarget(
	name: string,
	script: string,
	env: Record<string, string> = {},
): Promise<Target> {
	const child = spawnChild([BUN, script], {
		...process.env,
		LOG_LEVEL: "info",
		HERALD_ENV: "production",
		...env,
	});
	const line = await child.waitForLine(/^LISTENING \d+/, 30_000);
	const port = Number(line.split(" ")[1]);
	return { name, child, url: `http://127.0.0.1:${port}/health` };
}

export interface Settings {
	seconds: number;
	warmup: number;
	rounds: number;
	connections: number;
	threads: number;
}

export function settings(): Settings {
	return {
		seconds: knob("BENCH_SECONDS", 3),
		warmup: knob("BENCH_WARMUP_SECONDS", 2),
		rounds: knob("BENCH_ROUNDS", 5),
		connections: knob("BENCH_CONNECTIONS", 64),
		threads: knob("BENCH_THREADS", 1),
	};
}

/** One round's load figures plus the server's CPU time (user + system, all threads) per request. */
export interface Sample extends LoadResult {
	readonly cpuUsPerReq: number;
}

/** Warms every target, then `rounds` rounds visiting the targets in order each round. */
export async function measure(
	tool: LoadTool,
	targets: Target[],
	s: Settings,
): Promise<Map<string, Sample[]>> {
	for (const t of targets) {
		const w = await tool.run(t.url, { connections: s.connections, seconds: s.warmup, threads: s.threads });
		console.log(`  warm-up ${t.name.padEnd(20)} ${fmt(w.rps).padStart(8)} req/s (discarded)`);
	}
	const results = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
	for (let round = 1; round <= s.rounds; round++) {
		for (const t of targets) {
			const cpu0 = cpuSeconds(t.child.proc.pid);
			const load = await tool.run(t.url, {
				connections: s.connections,
				seconds: s.seconds,
				threads: s.threads,
			});
			const r = { ...load, cpuUsPerReq: ((cpuSeconds(t.child.proc.pid) - cpu0) * 1e6) / load.requests };
			results.get(t.name)!.push(r);
			const bad = r.errors + r.non2xx;
			console.log(
				`  round ${round} ${t.name.padEnd(20)} ${fmt(r.rps).padStart(8)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  ` +
					`p99 ${r.p99Ms.toFixed(2)} ms  server CPU ${r.cpuUsPerReq.toFixed(1)} us/req${bad ? `  (${r.errors} errors, ${r.non2xx} non-2xx)` : ""}`,
			);
		}
	}
	return results;
}

export interface Figures {
	rps: number;
	p50: number;
	p99: number;
	bad: number;
	cpuUs: number;
}

export function figures(rs: Sample[]): Figures {
	return {
		cpuUs: median(rs.map((r) => r.cpuUsPerReq)),
		rps: median(rs.map((r) => r.rps)),
		p50: median(rs.map((r) => r.p50Ms)),
		p99: median(rs.map((r) => r.p99Ms)),
		bad: rs.reduce((n, r) => n + r.errors + r.non2xx, 0),
	};
}

export const row = (name: string, f: Figures) =>
	`${name.padEnd(22)} ${fmt(f.rps).padStart(9)} req/s   p50 ${f.p50.toFixed(2).padStart(6)} ms   p99 ${f.p99
		.toFixed(2)
		.padStart(
			6,
		)} ms   CPU ${f.cpuUs.toFixed(1).padStart(5)} us/req${f.bad ? `   ${f.bad} errors/non-2xx` : ""}`;

export function describe(tool: LoadTool, s: Settings): string {
	return (
		`tool ${tool.name} [${tool.note}]; ${s.connections} connections, ${s.threads} load thread(s), ` +
		`${s.warmup} s warm-up per server, ${s.rounds} rounds x ${s.seconds} s per server alternating; ` +
		`each server in its own bun process on 127.0.0.1; ${machine()}`
	);
}

export async function runHttpHealth(options: { profile?: boolean } = {}): Promise<void> {
	const s = settings();
	const tool = loadTool();
	console.log("== http-health: GET /health, Herald app (all middleware) vs raw Bun.serve ==");
	console.log(`measured with: ${describe(tool, s)}`);
	const targets: Target[] = [];
	try {
		targets.push(await startTarget("raw Bun.serve", "bench/servers/raw.ts"));
		targets.push(await startTarget("herald createApp", "bench/servers/herald.ts"));
		const results = await measure(tool, targets, s);
		const raw = figures(results.get("raw Bun.serve")!);
		const herald = figures(results.get("herald createApp")!);
		const ratio = herald.rps / raw.rps;
		const rawRounds = results.get("raw Bun.serve")!;
		const paired = median(results.get("herald createApp")!.map((r, i) => r.rps / rawRounds[i]!.rps));
		const lines = [
			"http-health (GET /health, medians over rounds):",
			`  ${row("raw Bun.serve", raw)}`,
			`  ${row("herald createApp", herald)}`,
			`  ratio herald/raw = ${ratio.toFixed(2)} (of medians; median of per-round ratios ${paired.toFixed(2)}; ` +
				`goal >= ${GOAL.toFixed(2)}: ${ratio >= GOAL ? "MET" : "NOT MET"})`,
			`  server CPU per request: herald ${herald.cpuUs.toFixed(1)} us vs raw ${raw.cpuUs.toFixed(1)} us ` +
				`(CPU-bound capacity ratio ${(raw.cpuUs / herald.cpuUs).toFixed(2)}; steadier than req/s on a busy machine)`,
			`  measured with: ${describe(tool, s)}`,
		];
		console.log(lines.join("\n"));
		await summary(lines);
		if (options.profile) await profile(tool, s);
		else if (ratio < GOAL)
			console.log("  (ratio below goal: `bun bench/run.ts http-health --profile` ablates plugins)");
	} finally {
		await Promise.all(targets.map((t) => stopChild(t.child, 5000)));
	}
}

const ABLATIONS: readonly Variant[] = VARIANTS;

/** Each variant of the app in its own process, measured round-robin; cost = gain from removing the part. */
async function profile(tool: LoadTool, s: Settings): Promise<void> {
	console.log("== http-health --profile: the app with one part removed at a time ==");
	const targets: Target[] = [];
	try {
		targets.push(await startTarget("raw", "bench/servers/raw.ts"));
		for (const v of ABLATIONS)
			targets.push(await startTarget(v, "bench/servers/herald.ts", { BENCH_VARIANT: v }));
		const results = await measure(tool, targets, s);
		const full = figures(results.get("full")!);
		const raw = figures(results.get("raw")!);
		const lines = [
			"http-health profile (medians; 'cost' = server CPU per request the full app saves without the part):",
			`  ${"raw Bun.serve".padEnd(20)} ${fmt(raw.rps).padStart(9)} req/s  CPU ${raw.cpuUs.toFixed(1)} us/req`,
		];
		for (const v of ABLATIONS) {
			const f = figures(results.get(v)!);
			const gain = (f.rps / full.rps - 1) * 100;
			const cost = full.cpuUs - f.cpuUs;
			lines.push(
				`  ${v.padEnd(20)} ${fmt(f.rps).padStart(9)} req/s (${(f.rps / raw.rps).toFixed(2)} of raw, ` +
					`${v === "full" ? "reference" : `${gain >= 0 ? "+" : ""}${gain.toFixed(0)}% vs full`})  ` +
					`CPU ${f.cpuUs.toFixed(1)} us/req (${(raw.cpuUs / f.cpuUs).toFixed(2)} of raw capacity` +
					`${v === "full" ? "" : `; cost ${cost >= 0 ? "" : "-"}${Math.abs(cost).toFixed(1)} us/req`})`,
			);
		}
		console.log(lines.join("\n"));
		await summary(lines);
	} finally {
		await Promise.all(targets.map((t) => stopChild(t.child, 5000)));
	}
}

if (import.meta.main) {
	const profileFlag = process.argv.includes("--profile") || process.env.BENCH_PROFILE === "1";
	await runHttpHealth({ profile: profileFlag });
}
