/**
 * The README stays true: its configuration table lists every variable the
 * configuration reads (src/config.ts and every feature's section), and its API
 * table every operation of the OpenAPI document and every WebSocket route.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { startTestApp, type TestApp } from "./support/app.ts";

const ROOT = resolve(import.meta.dir, "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const files = (dir: string): string[] =>
	readdirSync(dir).flatMap((name) => {
		const path = join(dir, name);
		return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
	});

let t: TestApp;
beforeAll(async () => {
	t = await startTestApp();
});
afterAll(async () => {
	await t.stop();
});

describe("README", () => {
	test("the configuration table has a row for every variable the configuration reads", () => {
		const declared = new Set(
			files(join(ROOT, "src")).flatMap((f) =>
				[
					...readFileSync(f, "utf8").matchAll(
						/\b(?:str|int|optStr|optSecret|list|Config\.[A-Za-z]+)\(\s*"([A-Z][A-Z0-9_]+)"/g,
					),
				].map((m) => m[1]!),
			),
		);
		expect(declared.size).toBeGreaterThan(50);
		const rows = new Set([...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]!));
		expect([...declared].filter((v) => !rows.has(v)).sort()).toEqual([]);
	});

	test("the API table has a row for every operation and WebSocket", async () => {
		const doc = (await t.request("GET", "/swagger/json")).body;
		const operations = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, item]) =>
			Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
		);
		const sockets = t.app.routes
			.filter((r) => r.method === "WS")
			.map((r) => `WS ${r.path.replace(/:([A-Za-z_]+)/g, "{$1}")}`);
		expect(operations.length).toBeGreaterThan(30);
		expect(sockets.length).toBeGreaterThan(0);
		const rows = new Set([...readme.matchAll(/^\| `([A-Z]+ \/[^`]*)`\s*\|/gm)].map((m) => m[1]!));
		expect([...operations, ...sockets].filter((op) => !rows.has(op)).sort()).toEqual([]);
	});
});
