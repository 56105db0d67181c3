/**
 * The API's contract, held by a fuzzer nobody on the project wrote:
 * Schemathesis (PyPI, installed by `scripts/setup.mjs` into .herald/venv)
 * against a real Herald API on loopback, every check on (in the settings file,
 * so its documented per-operation exceptions apply), all four phases
 * (examples, coverage, fuzzing, stateful), once anonymous and once signed in
 * (as the administrator, so admin routes are reached too). Deterministic
 * generation, bounded examples: zero failures is the bar.
 *
 * The two runs are independent, so they run at the same time (`test.concurrent`),
 * each against an API of its own: its own database cloned from the template, its
 * own Redis prefix, its own port. Neither run sees the other's writes, exactly as
 * when they ran one after the other on one API.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startTestApp, type TestApp } from "./support/app.ts";

const ROOT = resolve(import.meta.dir, "..");
const ST = join(ROOT, ".herald", "venv", "bin", "st");
const BASE_CONFIG = readFileSync(join(import.meta.dir, "fuzz", "schemathesis.toml"), "utf8");
const ADMIN = { email: "fuzz-admin@example.com", password: "fuzz-admin-password-0123" };

type Target = { t: TestApp; port: number; stop(): unknown };
const MODES = ["anonymous", "signed-in"] as const;
const targets = new Map<(typeof MODES)[number], Target>();
let work: string;

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), "herald-fuzz-"));
	for (const mode of MODES) {
		const t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
		const listening = t.app.listen({ hostname: "127.0.0.1", port: 0 });
		targets.set(mode, { t, port: listening.server!.port!, stop: () => listening.stop() });
	}
});

afterAll(async () => {
	for (const target of targets.values()) {
		await target.stop();
		await target.t.stop();
	}
	if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs `st run` with the base settings plus `extra` TOML against the API of `name`; resolves with its exit code and output. */
async function schemathesis(name: (typeof MODES)[number], extra: string, args: string[] = []) {
	const server = targets.get(name)!;
	expect(existsSync(ST)).toBe(true); // `node scripts/setup.mjs` installs it
	const dir = join(work, name);
	const config = join(work, `${name}.toml`);
	writeFileSync(config, `${BASE_CONFIG}\n${extra}\n`);
	const child = Bun.spawn(
		[
			ST,
			"--config-file",
			config,
			"run",
			`http://127.0.0.1:${server.port}/swagger/json`,
			"--phases",
			"examples,coverage,fuzzing,stateful",
			"--no-color",
			...args,
		],
		{
			cwd: work,
			env: { ...process.env, HERALD_FUZZ_EMAIL: ADMIN.email, HERALD_FUZZ_PASSWORD: ADMIN.password },
			stdout: "pipe",
			stderr: "pipe",
		},
	);
	const [out, err, code] = await Promise.all([
		new Response(child.stdout).text(),
		new Response(child.stderr).text(),
		child.exited,
	]);
	rmSync(dir, { recursive: true, force: true });
	return { code, output: `${out}\n${err}` };
}

const failures = (output: string) =>
	output.slice(output.indexOf("FAILURES"), output.indexOf("SUMMARY") + 2000);

describe("schemathesis", () => {
	test.concurrent("anonymous: every operation, zero failures", async () => {
		const { code, output } = await schemathesis("anonymous", "");
		if (code !== 0) throw new Error(`schemathesis found failures:\n${failures(output)}`);
		expect(output).toContain("Tested:");
	}, 300_000);

	test.concurrent("signed in (administrator): every operation but deleting the account, zero failures", async () => {
		const auth = `
[auth.dynamic.openapi.bearer]
path = "/api/v1/auth/login"
payload = { email = "\${HERALD_FUZZ_EMAIL}", password = "\${HERALD_FUZZ_PASSWORD}" }
extract_selector = "/accessToken"
retry_on = [401]
`;
		// Deleting the account would end the run's identity; its own tests are in users.test.ts.
		const { code, output } = await schemathesis("signed-in", auth, [
			"--exclude-operation-id",
			"deleteApiV1UsersMe",
		]);
		if (code !== 0) throw new Error(`schemathesis found failures:\n${failures(output)}`);
		expect(output).toMatch(/Re-authenticated|Tested:/);
	}, 300_000);
});
