/**
 * Bun's AsyncLocalStorage has had regressions; tracing depends on it. This
 * pins, on the Bun that package.json installs, that a context entered with
 * `with` or `enter` (src/infra/trace-context.ts) survives `await`, `.then`,
 * timers, postgres.js queries and auto-pipelined @upstash/redis calls, and
 * that concurrent flows never see each other's context.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Context, createContextKey, ROOT_CONTEXT } from "@opentelemetry/api";
import { createRedis } from "../src/infra/redis/client.ts";
import { BunContextManager } from "../src/infra/trace-context.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { testEnv } from "./support/env.ts";

const KEY = createContextKey("herald.test");
const manager = new BunContextManager();
const named = (name: string): Context => ROOT_CONTEXT.setValue(KEY, name);
const current = () => manager.active().getValue(KEY);

let db: TestDatabase;
beforeAll(async () => {
	db = await freshDatabase();
});
afterAll(async () => {
	await db?.drop();
});

test("the Bun running this is the one package.json pins", () => {
	const pkg = JSON.parse(readFileSync(join(import.meta.dir, "../package.json"), "utf8"));
	expect(Bun.version).toBe(pkg.devDependencies.bun.replace(/^[\^~]/, ""));
});

describe("context survives", () => {
	test("await, .then, queueMicrotask, setTimeout, setImmediate, setInterval", async () => {
		const seen = await manager.with(named("a"), async () => {
			const out: unknown[] = [];
			await Promise.resolve();
			out.push(current());
			await Promise.resolve().then(() => out.push(current()));
			const record = (resolve: () => void) => () => {
				out.push(current());
				resolve();
			};
			await new Promise<void>((r) => queueMicrotask(record(r)));
			await new Promise<void>((r) => setTimeout(record(r), 5));
			await new Promise<void>((r) => setImmediate(record(r)));
			await new Promise<void>((r) => {
				const t = setInterval(() => {
					out.push(current());
					clearInterval(t);
					r();
				}, 1);
			});
			await Bun.sleep(1);
			out.push(current());
			return out;
		});
		expect(seen).toEqual(["a", "a", "a", "a", "a", "a", "a"]);
		expect(current()).toBeUndefined();
	});

	test("postgres.js queries and transactions, with concurrent flows interleaved", async () => {
		const flow = (name: string) =>
			manager.with(named(name), async () => {
				const out: unknown[] = [];
				for (let i = 0; i < 5; i++) {
					await db.sql`select pg_sleep(0.001)`;
					out.push(current());
					await db.sql.begin(async (tx) => {
						await tx`select 1`;
						out.push(current());
					});
				}
				return out;
			});
		const [a, b, c] = await Promise.all([flow("a"), flow("b"), flow("c")]);
		expect(a).toEqual(Array(10).fill("a"));
		expect(b).toEqual(Array(10).fill("b"));
		expect(c).toEqual(Array(10).fill("c"));
	});

	test("auto-pipelined @upstash/redis calls (several flows share one pipeline)", async () => {
		const env = await testEnv();
		const redis = createRedis({ url: env.redisRestUrl, token: env.redisRestToken });
		const key = `als:${crypto.randomUUID()}`;
		const flow = (name: string) =>
			manager.with(named(name), async () => {
				const out: unknown[] = [];
				for (let i = 0; i < 5; i++) {
					// Issued in the same tick by every flow: the client batches them into one request.
					await redis.incr(key);
					out.push(current());
				}
				return out;
			});
		const results = await Promise.all(["a", "b", "c", "d"].map(flow));
		expect(results).toEqual(["a", "b", "c", "d"].map((n) => Array(5).fill(n)));
		expect(Number(await redis.get(key))).toBe(20);
	});

	test("`enter` (what the HTTP hook does) lasts for the rest of the flow and not beyond it", async () => {
		const inner = async () => {
			manager.enter(named("entered"));
			await db.sql`select 1`;
			await Bun.sleep(1);
			return current();
		};
		const sibling = manager.with(named("sibling"), async () => {
			await Bun.sleep(2);
			return current();
		});
		expect(await inner()).toBe("entered");
		expect(await sibling).toBe("sibling");
	});
});
