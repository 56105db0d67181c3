/** Boots PostgreSQL, Temporal and Redis once for the whole `bun test` run. */
import { afterAll } from "bun:test";
import { testEnv } from "./env.ts";

const env = await testEnv();
afterAll(async () => {
	await env.stop();
});
