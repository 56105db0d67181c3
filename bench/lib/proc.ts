/** Process helpers for the benchmarks: spawn, wait for HTTP, stop, RSS, leftovers, stats. */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = resolve(import.meta.dir, "../..");
export const BUN = process.execPath;

/** Env knobs: a positive number or the default. */
export function knob(name: string, fallback: number): number {
	const raw = process.env[name];
	if (raw === undefined || raw === "") return fallback;
	const n = Number(raw);
	if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got "${raw}"`);
	return n;
}

/** Variables that would point Herald at existing services instead of embedded ones. */
const EXTERNAL = [
	"DATABASE_URL",
	"TEMPORAL_ADDRESS",
	"UPSTASH_REDIS_REST_URL",
	"UPSTASH_REDIS_REST_TOKEN",
	"REDIS_URL",
];

/** This environment minus external-service variables and HERALD_ENV, with its own data dir. */
export function embeddedEnv(dataDir: string): Record<string, string | undefined> {
	const env: Record<string, string | undefined> = { ...process.env, HERALD_DATA_DIR: dataDir };
	for (const name of [...EXTERNAL, "HERALD_ENV"]) delete env[name];
	return env;
}

/** A free TCP port on loopback (distinct within this process). */
const handedOut = new Set<number>();
export function freePort(): number {
	for (let i = 0; i < 20; i++) {
		const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
		const port = server.port;
		server.stop(true);
		if (!handedOut.has(port)) {
			handedOut.add(port);
			return port;
		}
	}
	throw new Error("no free port found");
}

/**
 * Cleanups run on SIGINT/SIGTERM, latest first (bounded to 30 s), so an interrupted bench
 * leaves no servers behind. The signal handlers are installed on first use.
 */
const cleanups = new Set<() => Promise<unknown>>();
let interrupted = false;
let installed = false;
export function onInterrupt(fn: () => Promise<unknown>): () => void {
	if (!installed) {
		installed = true;
		process.on("SIGINT", () => interrupt("SIGINT"));
		process.on("SIGTERM", () => interrupt("SIGTERM"));
	}
	cleanups.add(fn);
	return () => cleanups.delete(fn);
}
function interrupt(signal: string): void {
	if (interrupted) return;
	interrupted = true;
	console.error(`bench: ${signal}: stopping what this bench started`);
	const timer = setTimeout(() => process.exit(130), 30_000);
	// Latest first: children stop before the folders registered earlier are removed.
	void (async () => {
		for (const fn of [...cleanups].reverse()) await fn().catch(() => {});
		clearTimeout(timer);
		process.exit(130);
	})();
}

/** A child whose output is kept (last lines) instead of blocking on a full pipe. */
export interface Child {
	readonly proc: Subprocess<"ignore", "pipe", "pipe">;
	readonly lines: string[];
	readonly drained: Promise<void>;
	/** Resolves with the first output line matching `re` (bounded by `timeoutMs`). */
	waitForLine(re: RegExp, timeoutMs: number): Promise<string>;
}

export function spawnChild(cmd: string[], env: Record<string, string | undefined>, keep = 200): Child {
	const proc = Bun.spawn(cmd, {
		cwd: ROOT,
		env: env as Record<string, string>,
		stdin: "ignore",
		stdout: "pipe",
		stderr: "pipe",
	});
	const lines: string[] = [];
	const waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];
	const pump = async (stream: ReadableStream<Uint8Array>) => {
		const decoder = new TextDecoder();
		let rest = "";
		for await (const chunk of stream) {
			const parts = (rest + decoder.decode(chunk, { stream: true })).split("\n");
			rest = parts.pop() ?? "";
			for (const line of parts) {
				lines.push(line);
				if (lines.length > keep) lines.shift();
				for (let i = waiters.length - 1; i >= 0; i--) {
					const w = waiters[i]!;
					if (w.re.test(line)) {
						waiters.splice(i, 1);
						w.resolve(line);
					}
				}
			}
		}
		if (rest) lines.push(rest);
	};
	const drained = Promise.all([pump(proc.stdout), pump(proc.stderr)]).then(() => undefined);
	const forget = onInterrupt(() => stopChild(child, 20_000));
	void proc.exited.then(forget);
	const waitForLine = (re: RegExp, timeoutMs: number) =>
		new Promise<string>((res, rej) => {
			const found = lines.find((l) => re.test(l));
			if (found) return res(found);
			const timer = setTimeout(
				() => rej(new Error(`no line matching ${re} within ${timeoutMs} ms`)),
				timeoutMs,
			);
			const done = (line: string) => {
				clearTimeout(timer);
				res(line);
			};
			waiters.push({ re, resolve: done });
			void proc.exited.then((code) => {
				clearTimeout(timer);
				rej(new Error(`${cmd.join(" ")} exited with ${code}:\n${lines.slice(-20).join("\n")}`));
			});
		});
	const child: Child = { proc, lines, drained, waitForLine };
	return child;
}

/** Polls `url` until it answers `status` (default 200); returns ms waited. Bounded by `timeoutMs`. */
export async function waitForHttp(
	url: string,
	options: { timeoutMs: number; intervalMs?: number; status?: number; child?: Child },
): Promise<number> {
	const t0 = performance.now();
	const deadline = t0 + options.timeoutMs;
	let last = "no answer";
	while (performance.now() < deadline) {
		if (options.child && options.child.proc.exitCode !== null)
			throw new Error(
				`process exited with ${options.child.proc.exitCode} before ${url} was healthy:\n` +
					options.child.lines.slice(-20).join("\n"),
			);
		try {
			const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
			await res.arrayBuffer();
			if (res.status === (options.status ?? 200)) return performance.now() - t0;
			last = `HTTP ${res.status}`;
		} catch (error) {
			last = error instanceof Error ? error.message : String(error);
		}
		await Bun.sleep(options.intervalMs ?? 50);
	}
	throw new Error(`${url} not healthy within ${options.timeoutMs} ms (last: ${last})`);
}

/** SIGTERM (SIGKILL after `graceMs`); resolves with ms until exit. */
export async function stopChild(child: Child, graceMs = 20_000): Promise<{ ms: number; killed: boolean }> {
	const t0 = performance.now();
	const p = child.proc;
	if (p.exitCode !== null || p.signalCode !== null) return { ms: 0, killed: false };
	p.kill("SIGTERM");
	let killed = false;
	const timer = setTimeout(() => {
		killed = true;
		p.kill("SIGKILL");
	}, graceMs);
	try {
		await p.exited;
		await Promise.race([child.drained, Bun.sleep(1000)]);
	} finally {
		clearTimeout(timer);
	}
	return { ms: performance.now() - t0, killed };
}

/** Resident set size (VmRSS) and its kernel high-water mark (VmHWM) of `pid`, in MB. */
export function readRss(pid: number): { rssMb: number; hwmMb: number } {
	const status = readFileSync(`/proc/${pid}/status`, "utf8");
	const kb = (key: string) =>
		Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))?.[1] ?? Number.NaN);
	return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
}

/** CPU time (user + system, all threads) of `pid` so far, in seconds (from /proc/<pid>/stat). */
const TICKS =
	Number(Bun.spawnSync(["getconf", "CLK_TCK"], { stdout: "pipe" }).stdout.toString().trim()) || 100;
export function cpuSeconds(pid: number): number {
	const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
	const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
	return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** PIDs whose command line contains `needle` (pgrep -f), excluding this process. */
export function pgrep(needle: string): number[] {
	const out = Bun.spawnSync(["pgrep", "-f", "--", needle], { stdout: "pipe", stderr: "ignore" });
	return out.stdout
		.toString()
		.split("\n")
		.map((s) => Number(s.trim()))
		.filter((n) => n > 0 && n !== process.pid);
}

/** Checks nothing carrying `needle` survived; kills (by PID) and reports what did. */
export async function assertNoLeftovers(needle: string): Promise<string> {
	let pids = pgrep(needle);
	for (let i = 0; i < 20 && pids.length > 0; i++) {
		await Bun.sleep(250);
		pids = pgrep(needle);
	}
	if (pids.length === 0) return `no processes left behind (pgrep -f ${needle}: none)`;
	const described = pids.map((pid) => `${pid} ${cmdline(pid)}`).join("; ");
	for (const pid of pids) {
		try {
			process.kill(pid, "SIGKILL");
		} catch {}
	}
	return `LEFTOVER processes (killed by PID): ${described}`;
}

function cmdline(pid: number): string {
	try {
		return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim().slice(0, 160);
	} catch {
		return "?";
	}
}

export function median(xs: number[]): number {
	const s = [...xs].sort((a, b) => a - b);
	const m = Math.floor(s.length / 2);
	return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const fmt = (n: number, digits = 0) =>
	n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Appends summary lines for `bench/run.ts` when it asked for them. */
export async function summary(lines: string[]): Promise<void> {
	const file = process.env.BENCH_SUMMARY_FILE;
	if (!file || interrupted) return;
	const prev = (await Bun.file(file).exists()) ? await Bun.file(file).text() : "";
	await Bun.write(file, `${prev}${lines.join("\n")}\n`);
}

export function machine(): string {
	const nproc = Bun.spawnSync(["nproc"], { stdout: "pipe" }).stdout.toString().trim();
	const cpu = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "?";
	const load = loadavg()
		.map((n) => n.toFixed(2))
		.join(" ");
	return `nproc ${nproc} (${cpu}), bun ${Bun.version}, ${process.platform}/${process.arch}, load average ${load}`;
}

/** `bun src/main.ts migrate` against `env`; throws with its last lines on failure. */
export async function migrateDatabase(env: Record<string, string | undefined>): Promise<void> {
	const child = spawnChild([BUN, "src/main.ts", "migrate"], { ...env, LOG_LEVEL: "warn" });
	const timer = setTimeout(() => child.proc.kill("SIGKILL"), 60_000);
	const code = await child.proc.exited;
	clearTimeout(timer);
	if (code !== 0) throw new Error(`migrate exited with ${code}:\n${child.lines.slice(-20).join("\n")}`);
}
