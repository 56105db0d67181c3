/**
 * The test run's workflow bundle cache (test/support/workflow-bundle-cache.ts)
 * is on: the SDK hook it wraps exists, and a second worker with the same
 * options gets the first one's bundle instead of running webpack again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Worker } from "@temporalio/worker";
import { type Actors, startActors } from "./support/actors.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { bundleCache } from "./support/workflow-bundle-cache.ts";

let db: TestDatabase;
const actors: Actors[] = [];

beforeAll(async () => {
	db = await freshDatabase();
});

afterAll(async () => {
	for (const a of actors) await a.stop();
	await db?.drop();
});

describe("workflow bundle cache", () => {
	test("installed by the preload over the SDK's own hook", () => {
		expect(bundleCache.installed).toBe(true);
		const hook = (Worker as unknown as { getOrCreateBundle: { cached?: true } }).getOrCreateBundle;
		expect(typeof hook).toBe("function");
		expect(hook.cached).toBe(true);
	});

	test("two workers with the same options: at most one bundle, the second reuses it", async () => {
		const before = { ...bundleCache };
		actors.push(await startActors(db.sql, "bundle-a"));
		const afterFirst = { ...bundleCache };
		actors.push(await startActors(db.sql, "bundle-b"));
		expect(afterFirst.bundled - before.bundled + afterFirst.reused - before.reused).toBe(1);
		expect(bundleCache.bundled).toBe(afterFirst.bundled);
		expect(bundleCache.reused).toBe(afterFirst.reused + 1);
	}, 60_000);
});
