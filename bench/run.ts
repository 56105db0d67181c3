/**
 * `bun bench/run.ts [name...] [--profile]`: runs http-health, startup and rss
 * (or the named bench/<name>.ts) one after the other, each in its own bun process, then
 * prints every figure with how it was measured. By name only: reminders, scale, outage,
 * sync (push 100 mutations, pull 10,000 rows in pages, empty pulls), leaderboard (GET vs /health,
 * around-me at the Redis call), fitness-sync (sync throughput, sync → WebSocket latency).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUN, machine, ROOT } from "./lib/proc.ts";

/** Run by default; any other `bench/<name>.ts` runs when named (`OPTIONAL` lists them). */
const BENCHES = ["http-health", "users-me", "startup", "rss", "bridge", "debts", "mixed"];
/** Named benches outside the default set (shown in the usage line). */
const OPTIONAL = ["reminders", "scale", "outage", "sync", "leaderboard", "fitness-sync", "metrics"];

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith("--"));
const names = args.filter((a) => !a.startsWith("--"));
/** Where the benchmarks live (tests point it at fixtures). */
const DIR = process.env.BENCH_DIR ?? join(ROOT, "bench");
/** No benchmark may run longer than this: past it, it is reported as hung and stopped. */
const limitMs = Number(process.env.BENCH_MAX_SECONDS ?? 15 * 60) * 1000;
const unknown = names.filter(
	(n) => n === "run" || !/^[a-z0-9-]+$/.test(n) || !existsSync(join(DIR, `${n}.ts`)),
);
if (unknown.length) {
	console.error(
		`bench: no benchmark ${unknown.join(", ")} (bench/<name>.ts); default: ${BENCHES.join(", ")}; by name: ${OPTIONAL.join(", ")}`,
	);
	process.exit(2);
}
const chosen = names.length ? names : BENCHES;

const dir = mkdtempSync(join(tmpdir(), "herald-bench-"));
const summaryFile = join(dir, "summary.txt");
const failed: string[] = [];
const done: string[] = [];
const t0 = performance.now();
let current: ReturnType<typeof Bun.spawn> | undefined;
let stopped = false;
const forward = (signal: NodeJS.Signals) => {
	stopped = true;
	current?.kill(signal);
};
process.on("SIGINT", () => forward("SIGINT"));
process.on("SIGTERM", () => forward("SIGTERM"));
try {
	for (const name of chosen) {
		if (stopped) break;
		const proc = Bun.spawn([BUN, join(DIR, `${name}.ts`), ...flags], {
			cwd: ROOT,
			env: { ...process.env, BENCH_SUMMARY_FILE: summaryFile },
			stdin: "ignore",
			stdout: "inherit",
			stderr: "inherit",
		});
		current = proc;
		const started = performance.now();
		let hung = false;
		// Past the limit: SIGTERM (the bench stops what it started), SIGKILL 30 s later.
		const guard = setTimeout(() => {
			hung = true;
			console.error(`bench: ${name} still running after ${limitMs / 1000} s: stopping it (hung)`);
			proc.kill("SIGTERM");
			setTimeout(() => proc.kill("SIGKILL"), 30_000).unref();
		}, limitMs);
		const code = await proc.exited;
		clearTimeout(guard);
		const took = `${((performance.now() - started) / 1000).toFixed(0)} s`;
		if (hung) failed.push(`${name} (HUNG: still running after ${limitMs / 1000} s, stopped; exit ${code})`);
		else if (code !== 0) failed.push(`${name} (exit ${code} after ${took})`);
		else done.push(`${name} ${took}`);
		console.log("");
	}
	const text = (await Bun.file(summaryFile).exists()) ? await Bun.file(summaryFile).text() : "";
	console.log("==================== bench summary ====================");
	console.log(`machine: ${machine()}; total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
	console.log(text.trimEnd());
	if (done.length) console.log(`finished: ${done.join(", ")}`);
	if (failed.length) console.log(`FAILED: ${failed.join(", ")}`);
} finally {
	rmSync(dir, { recursive: true, force: true });
}
process.exit(failed.length ? 1 : 0);
