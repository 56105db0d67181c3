/**
 * What the metrics cost: `GET /health` throughput of the full app (HTTP RED
 * metrics on) against the same app without them, each in its own process,
 * same load tool, rounds alternating after a warm-up (the budget:
 * at most 5 % of /health throughput). Also the time one scrape of a
 * registry holding those series takes to render.
 */
import { counter, histogram, scrape } from "../src/infra/metrics.ts";
import {
	describe,
	figures,
	measure,
	row,
	type Settings,
	settings,
	startTarget,
	type Target,
} from "./http-health.ts";
import { loadTool } from "./lib/load.ts";
import { median, stopChild, summary } from "./lib/proc.ts";

const BUDGET = 0.05;

async function scrapeMs(): Promise<number> {
	// A registry about the size a busy api holds: 60 routes x 4 statuses of the request histogram.
	const h = histogram("bench_http_request_duration_seconds", "bench", ["method", "route", "status_code"]);
	const c = counter("bench_things_total", "bench", ["kind"]);
	for (let r = 0; r < 60; r++)
		for (const status of ["200", "401", "404", "422"])
			h.observe({ method: "GET", route: `/r${r}`, status_code: status }, 0.01);
	for (let k = 0; k < 20; k++) c.inc({ kind: `k${k}` });
	const times: number[] = [];
	for (let i = 0; i < 50; i++) {
		const t0 = performance.now();
		await scrape();
		times.push(performance.now() - t0);
	}
	return median(times);
}

/**
 * The same comparison without the network: `app.handle` of GET /health in a
 * loop, the app with and without metrics alternating over 15 rounds; the
 * median per-request time of each and the median of the per-round ratios
 * (steadier than req/s on a shared machine).
 */
async function inProcess(): Promise<{ off: number; on: number; paired: number }> {
	const { createApp } = await import("../src/app/api.ts");
	const { createLogger } = await import("../src/infra/log.ts");
	const deps = {
		log: createLogger("info"),
		version: "bench",
		corsOrigins: ["*"],
		bodyLimitBytes: 1_048_576,
		probes: { database: async () => 1, temporal: async () => 1, redis: async () => 1 },
	};
	const apps = { off: createApp({ ...deps, httpMetrics: false }), on: createApp(deps) };
	const times = { off: [] as number[], on: [] as number[] };
	const N = 10_000;
	for (let round = 0; round < 16; round++)
		// Each order half the time: whichever runs second in a round pays for the first one's garbage.
		for (const key of round % 2 ? (["on", "off"] as const) : (["off", "on"] as const)) {
			const t0 = performance.now();
			for (let i = 0; i < N; i++)
				await (await apps[key].handle(new Request("http://localhost/health"))).text();
			await new Promise((r) => setImmediate(r)); // the after-response hooks of the last requests
			if (round > 0) times[key].push(((performance.now() - t0) * 1000) / N); // round 0 warms up
		}
	const paired = median(times.on.map((t, i) => t / times.off[i]!)) - 1;
	return { off: median(times.off), on: median(times.on), paired };
}

async function main(): Promise<void> {
	const s: Settings = settings();
	const tool = loadTool();
	console.log("== metrics: GET /health with HTTP metrics vs without ==");
	console.log(`measured with: ${describe(tool, s)}`);
	const targets: Target[] = [];
	try {
		targets.push(
			await startTarget("without metrics", "bench/servers/herald.ts", { BENCH_VARIANT: "no-metrics" }),
		);
		targets.push(await startTarget("with metrics", "bench/servers/herald.ts", { BENCH_VARIANT: "full" }));
		// Half the rounds in each order: the server measured second in a round runs a few per cent
		// slower on this machine whatever it is (an A/A run of two identical servers showed ~9 %).
		const half = Math.max(1, Math.ceil(s.rounds / 2));
		const first = await measure(tool, targets, { ...s, rounds: half });
		const second = await measure(tool, [...targets].reverse(), { ...s, rounds: half, warmup: 1 });
		const results = new Map([...first].map(([name, rs]) => [name, [...rs, ...second.get(name)!]]));
		const off = figures(results.get("without metrics")!);
		const on = figures(results.get("with metrics")!);
		const offRounds = results.get("without metrics")!;
		const paired = median(results.get("with metrics")!.map((r, i) => r.rps / offRounds[i]!.rps));
		const cost = 1 - on.rps / off.rps;
		const cpuCost = on.cpuUs / off.cpuUs - 1;
		const ms = await scrapeMs();
		const local = await inProcess();
		const lines = [
			"metrics (GET /health, medians over rounds):",
			`  ${row("without metrics", off)}`,
			`  ${row("with metrics", on)}`,
			`  throughput cost ${(cost * 100).toFixed(1)} % (median of per-round ratios: ${((1 - paired) * 100).toFixed(1)} %); ` +
				`server CPU per request +${(cpuCost * 100).toFixed(1)} %; budget ${(BUDGET * 100).toFixed(0)} %: ` +
				`${cost <= BUDGET ? "MET" : "NOT MET"}`,
			`  in process (app.handle loop, 15 x 10,000 requests each, alternating): ${local.off.toFixed(2)} us/req without, ` +
				`${local.on.toFixed(2)} us/req with: cost ${((local.on / local.off - 1) * 100).toFixed(1)} % of medians, ` +
				`${(local.paired * 100).toFixed(1)} % median per round ` +
				`(budget ${(BUDGET * 100).toFixed(0)} %: ${local.paired <= BUDGET ? "MET" : "NOT MET"})`,
			`  one scrape of a registry with 240 request-histogram series: ${ms.toFixed(2)} ms (median of 50)`,
			`  measured with: ${describe(tool, s)}`,
		];
		console.log(lines.join("\n"));
		await summary(lines);
	} finally {
		await Promise.all(targets.map((t) => stopChild(t.child, 5000)));
	}
}

await main();
