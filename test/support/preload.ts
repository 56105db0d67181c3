/**
 * Boots PostgreSQL, Temporal and Redis once for the whole `bun test` run, and
 * bundles the workflows once for all the run's workers (./workflow-bundle-cache.ts).
 */
import { afterAll } from "bun:test";
import { testEnv } from "./env.ts";
import { installWorkflowBundleCache } from "./workflow-bundle-cache.ts";

installWorkflowBundleCache();

const env = await testEnv();
afterAll(async () => {
	await env.stop();
});
