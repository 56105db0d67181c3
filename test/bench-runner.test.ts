/**
 * `bench/run.ts` always finishes: a benchmark still running past the limit is
 * reported by name as hung, stopped, and the run exits non-zero.
 */
import { expect, test } from "bun:test";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");

test("bench/run.ts reports and stops a benchmark that hangs, and still finishes", async () => {
	const proc = Bun.spawn([process.execPath, "bench/run.ts", "quick", "hangs"], {
		cwd: ROOT,
		env: { ...process.env, BENCH_DIR: join(ROOT, "test/fixtures/bench"), BENCH_MAX_SECONDS: "2" },
		stdout: "pipe",
		stderr: "pipe",
	});
	const [out, err, code] = await Promise.all([
		new Response(proc.stdout).text(),
		new Response(proc.stderr).text(),
		proc.exited,
	]);
	expect(code).toBe(1);
	expect(out).toContain("quick: done");
	expect(out).toMatch(/finished: quick \d+ s/);
	expect(out).toContain("FAILED: hangs (HUNG: still running after 2 s");
	expect(err).toContain("bench: hangs still running after 2 s: stopping it (hung)");
});
