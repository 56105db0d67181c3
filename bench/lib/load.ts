/**
 * The load tool: `wrk` (installed from Debian with apt-get when missing and we
 * are root), else a keep-alive fetch loader in Bun. Every run is bounded in
 * time (and the Bun loader in request count too).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "./proc.ts";

export interface LoadResult {
	readonly tool: string;
	readonly requests: number;
	readonly seconds: number;
	readonly rps: number;
	readonly p50Ms: number;
	readonly p90Ms: number;
	readonly p99Ms: number;
	/** Socket errors and timeouts. */
	readonly errors: number;
	readonly non2xx: number;
}

export interface LoadOptions {
	connections: number;
	seconds: number;
	/** wrk threads (default 1: the server gets the other core). */
	threads?: number;
	/** Request headers, e.g. an Authorization bearer token. */
	headers?: Record<string, string>;
}

export interface LoadTool {
	readonly name: string;
	/** How it was obtained, e.g. "found on PATH" or "installed with apt-get". */
	readonly note: string;
	run(url: string, options: LoadOptions): Promise<LoadResult>;
}

const LUA = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON {"requests":%.0f,"durationUs":%.0f,"errors":%.0f,"non2xx":%.0f,"p50":%.0f,"p90":%.0f,"p99":%.0f}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
`;

let cached: LoadTool | undefined;

/** wrk if it is (or can be made) available, unless BENCH_LOADER=bun; else the Bun loader. */
export function loadTool(log: (line: string) => void = console.log): LoadTool {
	if (cached) return cached;
	if (process.env.BENCH_LOADER === "bun") {
		cached = bunLoader("BENCH_LOADER=bun");
		return cached;
	}
	let wrk = Bun.which("wrk");
	let note = "found on PATH";
	if (!wrk && process.getuid?.() === 0 && Bun.which("apt-get")) {
		log("bench: wrk is not on PATH; installing it: apt-get install -y wrk");
		const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
		const install = () =>
			Bun.spawnSync(["apt-get", "install", "-y", "-qq", "wrk"], { env, stdout: "ignore", stderr: "pipe" });
		let out = install();
		if (out.exitCode !== 0) {
			log("bench: apt-get install failed; running apt-get update -qq and retrying");
			Bun.spawnSync(["apt-get", "update", "-qq"], { env, stdout: "ignore", stderr: "ignore" });
			out = install();
		}
		wrk = Bun.which("wrk");
		if (wrk) {
			note = "installed by this bench with apt-get install -y wrk";
			log(`bench: ${note}`);
		} else log(`bench: could not install wrk (${out.stderr.toString().trim().split("\n").pop()})`);
	}
	cached = wrk ? wrkTool(wrk, note) : bunLoader("wrk unavailable");
	return cached;
}

function wrkTool(path: string, note: string): LoadTool {
	const version =
		Bun.spawnSync([path, "-v"], { stdout: "pipe", stderr: "pipe" })
			.stdout.toString()
			.match(/wrk [^\s]+/)?.[0] ?? "wrk";
	const dir = mkdtempSync(join(tmpdir(), "herald-bench-wrk-"));
	const script = join(dir, "report.lua");
	writeFileSync(script, LUA);
	process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
	return {
		name: `${version} (C, keep-alive)`,
		note,
		async run(url, options) {
			const threads = Math.min(options.threads ?? 1, options.connections);
			const cmd = [
				path,
				`-t${threads}`,
				`-c${options.connections}`,
				`-d${options.seconds}s`,
				"--timeout",
				"5s",
				...Object.entries(options.headers ?? {}).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
			];
			const proc = Bun.spawn([...cmd, "-s", script, url], {
				stdout: "pipe",
				stderr: "pipe",
				stdin: "ignore",
			});
			const guard = setTimeout(() => proc.kill("SIGKILL"), (options.seconds + 20) * 1000);
			const [out, err, code] = await Promise.all([
				new Response(proc.stdout).text(),
				new Response(proc.stderr).text(),
				proc.exited,
			]);
			clearTimeout(guard);
			const line = out.split("\n").find((l) => l.startsWith("BENCHJSON "));
			if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}): ${err.trim() || out.trim()}`);
			const r = JSON.parse(line.slice("BENCHJSON ".length)) as Record<string, number>;
			const seconds = r.durationUs! / 1e6;
			return {
				tool: "wrk",
				requests: r.requests!,
				seconds,
				rps: r.requests! / seconds,
				p50Ms: r.p50! / 1000,
				p90Ms: r.p90! / 1000,
				p99Ms: r.p99! / 1000,
				errors: r.errors!,
				non2xx: r.non2xx!,
			};
		},
	};
}

/** N concurrent keep-alive fetch loops, bounded by time and by BENCH_MAX_REQUESTS. */
function bunLoader(why: string): LoadTool {
	const maxRequests = Number(process.env.BENCH_MAX_REQUESTS ?? 5_000_000);
	return {
		name: `bun fetch loader (keep-alive, in-process, bun ${Bun.version})`,
		note: why,
		async run(url, options) {
			const latencies: number[] = [];
			let requests = 0;
			let errors = 0;
			let non2xx = 0;
			const t0 = performance.now();
			const deadline = t0 + options.seconds * 1000;
			const loop = async () => {
				while (performance.now() < deadline && requests < maxRequests) {
					const s = performance.now();
					try {
						const res = await fetch(url, {
							keepalive: true,
							headers: options.headers,
							signal: AbortSignal.timeout(5000),
						});
						await res.arrayBuffer();
						if (res.status < 200 || res.status >= 300) non2xx++;
					} catch {
						errors++;
					}
					requests++;
					if (latencies.length < 2_000_000) latencies.push(performance.now() - s);
				}
			};
			await Promise.all(Array.from({ length: options.connections }, loop));
			const seconds = (performance.now() - t0) / 1000;
			latencies.sort((a, b) => a - b);
			const pct = (p: number) =>
				latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
			return {
				tool: "bun-fetch",
				requests,
				seconds,
				rps: requests / seconds,
				p50Ms: latencies.length ? median(latencies) : 0,
				p90Ms: pct(0.9),
				p99Ms: pct(0.99),
				errors,
				non2xx,
			};
		},
	};
}
