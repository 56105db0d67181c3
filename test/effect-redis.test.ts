/**
 * effect's Redis service over `@upstash/redis` (through the local gateway),
 * and effect's CircuitBreaker / RateLimiter on their Redis stores, including
 * a second OS process that sees a circuit this process opened.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis as UpstashRedis } from "@upstash/redis";
import { Deferred, Duration, Effect, Fiber, Layer, Queue, type Scope } from "effect";
import { CircuitBreaker, RateLimiter, Redis } from "effect/persistence";
import { startRedisGateway } from "../src/infra/embedded/redis-gateway.ts";
import { startRedisServer } from "../src/infra/embedded/redis-server.ts";
import { createRedis } from "../src/infra/redis/client.ts";
import {
	circuitBreakerStoreLayer,
	layerUpstashRedis,
	rateLimiterStoreLayer,
} from "../src/infra/redis/effect-redis.ts";
import { startTestGateway } from "./fixtures/redis-gateway.ts";

const env = await startTestGateway("effect");
const { gateway, redis, token } = env;
const k = env.key;
afterAll(() => env.stop());

const withRedis = <A, E>(
	program: Effect.Effect<A, E, Redis.Redis | Scope.Scope>,
	client: UpstashRedis = redis,
) => Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(layerUpstashRedis(client))));

describe("Redis service over @upstash/redis", () => {
	test("send returns replies as Redis sent them (no JSON deserialization)", async () => {
		const replies = await withRedis(
			Effect.gen(function* () {
				const r = yield* Redis.Redis;
				yield* r.send("SET", k("one"), "1");
				yield* r.send("SET", k("bool"), "true");
				yield* r.send("SET", k("json"), '{"a":1}');
				yield* r.send("HSET", k("hash"), "f", "2");
				return [
					yield* r.send("GET", k("one")),
					yield* r.send("GET", k("bool")),
					yield* r.send("GET", k("json")),
					yield* r.send("INCR", k("counter")),
					yield* r.send("GET", k("absent")),
					yield* r.send("HGETALL", k("hash")),
					yield* r.send("SET", k("ok"), "é✓"),
					yield* r.send("GET", k("ok")),
				];
			}),
		);
		expect(replies).toEqual(["1", "true", '{"a":1}', 1, null, ["f", "2"], "OK", "é✓"]);
	});

	test("error replies fail with RedisError carrying Redis' message", async () => {
		const error = await withRedis(
			Effect.gen(function* () {
				const r = yield* Redis.Redis;
				yield* r.send("SET", k("text"), "abc");
				return yield* Effect.flip(r.send("INCR", k("text")));
			}),
		);
		expect(error).toBeInstanceOf(Redis.RedisError);
		expect(String(error.cause)).toMatch(/not an integer/);
	});

	test("eval loads the script once and reloads it after NOSCRIPT", async () => {
		// A private redis-server: SCRIPT FLUSH must not disturb anyone else.
		const dataDir = mkdtempSync(join(tmpdir(), "herald-redis-"));
		const server = await startRedisServer({ dataDir });
		const local = await startRedisGateway({ redisUrl: server.url, token, port: 0 });
		try {
			const lua = "return {KEYS[1], ARGV[1], 7}";
			const sha = createHash("sha1").update(lua).digest("hex");
			const script = Redis.script((key: string, value: string) => [key, value], {
				numberOfKeys: 1,
				lua,
			}).withReturnType<readonly [string, string, number]>();
			const seen = await withRedis(
				Effect.gen(function* () {
					const r = yield* Redis.Redis;
					const run = r.eval(script);
					const first = yield* run("key", "a");
					const loaded = yield* r.send("SCRIPT", "EXISTS", sha);
					yield* r.send("SCRIPT", "FLUSH");
					const flushed = yield* r.send("SCRIPT", "EXISTS", sha);
					const second = yield* run("key", "b");
					return { first, loaded, flushed, second };
				}),
				createRedis({ url: local.url, token }),
			);
			expect(seen).toEqual({ first: ["key", "a", 7], loaded: [1], flushed: [0], second: ["key", "b", 7] });
		} finally {
			await local.stop();
			await server.stop();
			rmSync(dataDir, { recursive: true, force: true });
		}
	});

	test("reserve: a blocking command on a reserved connection leaves the shared one free", async () => {
		const queue = k("jobs");
		const result = await withRedis(
			Effect.gen(function* () {
				const r = yield* Redis.Redis;
				const connection = yield* r.reserve;
				const popped = yield* connection.send<[string, string]>("BLPOP", queue, "30").pipe(Effect.forkChild);
				// Wait until Redis has the BLPOP parked.
				while (!String(yield* r.send("CLIENT", "LIST")).includes("cmd=blpop"))
					yield* Effect.sleep("5 millis");
				const pong = yield* r.send("PING");
				yield* r.send("RPUSH", queue, "job-1");
				return { pong, popped: yield* Fiber.join(popped) };
			}),
		);
		expect(result).toEqual({ pong: "PONG", popped: [queue, "job-1"] });
	});

	test("subscribe delivers published messages as raw strings", async () => {
		const channel = k("events");
		const received = await withRedis(
			Effect.gen(function* () {
				const r = yield* Redis.Redis;
				const queue = yield* r.subscribe(channel);
				const listeners = yield* r.send("PUBLISH", channel, "42");
				yield* r.send("PUBLISH", channel, "multi\nline, with commas");
				return { listeners, first: yield* Queue.take(queue), second: yield* Queue.take(queue) };
			}),
		);
		expect(received).toEqual({
			listeners: 1,
			first: { channel, message: "42" },
			second: { channel, message: "multi\nline, with commas" },
		});
	});
});

const breakerLayer = (openDuration: Duration.Input) =>
	CircuitBreaker.layer({
		tripPolicy: CircuitBreaker.consecutive(3),
		openDuration,
		onStoreError: "fail",
	}).pipe(Layer.provide(circuitBreakerStoreLayer(redis, { prefix: k("cb:") })));

/** Three failing calls through the breaker; returns how often the call body ran. */
const tripCircuit = (key: string) =>
	Effect.gen(function* () {
		const breaker = yield* CircuitBreaker.CircuitBreaker;
		let calls = 0;
		const failing = Effect.suspend(() => {
			calls++;
			return Effect.fail("boom" as const);
		});
		for (let i = 0; i < 3; i++) {
			expect(yield* Effect.flip(breaker.execute(failing, { key }))).toBe("boom");
		}
		const rejected = yield* Effect.flip(breaker.execute(failing, { key }));
		return { calls, rejected };
	});

describe("CircuitBreaker on the Redis store", () => {
	test("trips after N failures, rejects while open, a half-open probe closes it", async () => {
		const key = "payments";
		await Effect.runPromise(
			Effect.gen(function* () {
				const breaker = yield* CircuitBreaker.CircuitBreaker;
				const { calls, rejected } = yield* tripCircuit(key);
				expect(calls).toBe(3);
				if (rejected === "boom" || rejected.reason._tag !== "CircuitOpen") {
					throw new Error(`expected CircuitOpen, got ${String(rejected)}`);
				}
				expect(Duration.toMillis(rejected.reason.retryAfter)).toBeGreaterThan(0);
				expect(Duration.toMillis(rejected.reason.retryAfter)).toBeLessThanOrEqual(400);

				// Wait out the open period as the store reports it.
				for (;;) {
					const state = yield* breaker.state(key);
					if (state._tag !== "Open" || Duration.isZero(state.retryAfter)) break;
					yield* Effect.sleep(state.retryAfter);
				}

				// The first call is the half-open probe; others are turned away meanwhile.
				const gate = yield* Deferred.make<void>();
				const probe = yield* Deferred.await(gate).pipe(
					Effect.as("probed"),
					breaker.execute({ key }),
					Effect.forkChild,
				);
				let state = yield* breaker.state(key);
				while (state._tag !== "HalfOpen") {
					yield* Effect.yieldNow;
					state = yield* breaker.state(key);
				}
				expect(state).toMatchObject({ _tag: "HalfOpen", probing: true });
				const turnedAway = yield* Effect.flip(breaker.execute(Effect.succeed("x"), { key }));
				expect(turnedAway.reason._tag).toBe("CircuitHalfOpen");

				yield* Deferred.succeed(gate, undefined);
				expect(yield* Fiber.join(probe)).toBe("probed");
				expect((yield* breaker.state(key))._tag).toBe("Closed");
				expect(yield* breaker.execute(Effect.succeed("after"), { key })).toBe("after");
			}).pipe(Effect.scoped, Effect.provide(breakerLayer("400 millis"))),
		);
	});

	test("a circuit opened here is open in another process", async () => {
		const tripped = "search";
		const untouched = "geocoder";
		const { calls } = await Effect.runPromise(
			tripCircuit(tripped).pipe(Effect.scoped, Effect.provide(breakerLayer("1 minute"))),
		);
		expect(calls).toBe(3);

		const child = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures", "breaker-probe.ts")], {
			cwd: join(import.meta.dir, ".."),
			env: {
				...process.env,
				PROBE_GATEWAY_URL: gateway.url,
				PROBE_TOKEN: token,
				PROBE_PREFIX: k("cb:"),
				PROBE_KEYS: `${tripped},${untouched}`,
			},
			stdout: "pipe",
			stderr: "pipe",
		});
		const [stdout, stderr, exitCode] = await Promise.all([
			new Response(child.stdout).text(),
			new Response(child.stderr).text(),
			child.exited,
		]);
		if (exitCode !== 0) throw new Error(`breaker-probe exited with ${exitCode}: ${stderr}`);
		const seen = JSON.parse(stdout) as {
			pid: number;
			circuits: Array<{
				key: string;
				state: string;
				retryAfterMs: number | null;
				outcome: string;
				ran: boolean;
			}>;
		};
		expect(seen.pid).not.toBe(process.pid);
		const [open, closed] = seen.circuits;
		expect(open).toMatchObject({ key: tripped, state: "Open", outcome: "CircuitOpen", ran: false });
		expect(open?.retryAfterMs).toBeGreaterThan(50_000);
		expect(closed).toMatchObject({ key: untouched, state: "Closed", outcome: "ran", ran: true });
	});
});

describe("RateLimiter on the Redis store", () => {
	const limiterLayer = (client: UpstashRedis) =>
		RateLimiter.layer.pipe(Layer.provide(rateLimiterStoreLayer(client, { prefix: k("rl:") })));

	test("fixed window: allows N, then rejects with retry-after; the count is shared", async () => {
		const options = { key: "api:user-1", limit: 3, window: "10 seconds" } as const;
		const { remaining, exceeded } = await Effect.runPromise(
			Effect.gen(function* () {
				const limiter = yield* RateLimiter.RateLimiter;
				const remaining: number[] = [];
				for (let i = 0; i < 3; i++) remaining.push((yield* limiter.consume(options)).remaining);
				return { remaining, exceeded: yield* Effect.flip(limiter.consume(options)) };
			}).pipe(Effect.provide(limiterLayer(redis))),
		);
		expect(remaining).toEqual([2, 1, 0]);
		if (exceeded.reason._tag !== "RateLimitExceeded") throw new Error(`unexpected ${exceeded.reason._tag}`);
		expect(exceeded.reason).toMatchObject({ limit: 3, remaining: 0 });
		const retryAfter = Duration.toMillis(exceeded.reason.retryAfter);
		expect(retryAfter).toBeGreaterThan(0);
		// effect's script rounds each token's share of the window up to whole ms.
		expect(retryAfter).toBeLessThanOrEqual(10_003);

		// Another client (as another process would have) sees the same window.
		const other = createRedis({ url: gateway.url, token });
		const again = await Effect.runPromise(
			RateLimiter.RateLimiter.use((limiter) => Effect.flip(limiter.consume(options))).pipe(
				Effect.provide(limiterLayer(other)),
			),
		);
		expect(again.reason._tag).toBe("RateLimitExceeded");
	});

	test("token bucket: allows the burst, then retry-after is one refill interval", async () => {
		const options = {
			key: "webhook:host-a",
			limit: 2,
			window: "10 seconds",
			algorithm: "token-bucket",
		} as const;
		const { first, second, exceeded } = await Effect.runPromise(
			Effect.gen(function* () {
				const limiter = yield* RateLimiter.RateLimiter;
				return {
					first: yield* limiter.consume(options),
					second: yield* limiter.consume(options),
					exceeded: yield* Effect.flip(limiter.consume(options)),
				};
			}).pipe(Effect.provide(limiterLayer(redis))),
		);
		expect([first.remaining, second.remaining]).toEqual([1, 0]);
		if (exceeded.reason._tag !== "RateLimitExceeded") throw new Error(`unexpected ${exceeded.reason._tag}`);
		const retryAfter = Duration.toMillis(exceeded.reason.retryAfter);
		expect(retryAfter).toBeGreaterThan(0);
		expect(retryAfter).toBeLessThanOrEqual(5_000);
	});
});
