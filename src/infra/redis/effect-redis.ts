/**
 * effect's `Redis` service (`effect/persistence/Redis`) over `@upstash/redis`,
 * so effect's Redis-backed `CircuitBreaker` and `RateLimiter` stores keep
 * their state in Redis, shared by every Herald process.
 *
 * - `send` returns replies as Redis sent them: bulk strings as strings,
 *   integers as numbers, nil as null, arrays as arrays. It bypasses the
 *   client's automatic JSON deserialization (see `upstash-transport.ts`);
 *   effect's Lua scripts rely on that ("ok"/"open" tags, generations as
 *   integer strings, `probe === 1`).
 * - `eval` comes from `Redis.make`: `SCRIPT LOAD` once, then `EVALSHA`, with
 *   a reload on `NOSCRIPT`.
 * - `reserve` / `connect`: HTTP is stateless, so a "connection" is the same
 *   client with its own abort switch: closing it aborts its requests in
 *   flight, as `Redis.make` requires. It is not a dedicated TCP connection;
 *   blocking commands are still fine because each HTTP request is served on
 *   its own (the local gateway runs them on a dedicated Redis connection).
 * - `subscribe` uses Upstash's SSE endpoint (`/subscribe/<channel>`), which
 *   the local gateway implements too. A dropped stream fails the queue; as
 *   with effect's Bun subscriber, the caller subscribes again.
 */
import type { Redis as UpstashRedis } from "@upstash/redis";
import { Effect, Layer } from "effect";
import { CircuitBreaker, RateLimiter, Redis } from "effect/persistence";
import { upstashTransport } from "./upstash-transport.ts";

const toRedisError = (cause: unknown) => new Redis.RedisError({ cause });

/** Builds the `Redis` service over `redis`; needs a scope for its connection pool. */
export const makeUpstashRedis = (redis: UpstashRedis) =>
	Effect.gen(function* () {
		const transport = upstashTransport(redis);

		const sendWith =
			(closed?: AbortSignal) =>
			<A = unknown>(command: string, ...args: ReadonlyArray<string>): Effect.Effect<A, Redis.RedisError> =>
				Effect.tryPromise({
					try: (signal) =>
						transport.command(
							[command, ...args],
							closed ? AbortSignal.any([signal, closed]) : signal,
						) as Promise<A>,
					catch: toRedisError,
				});

		const connect = Effect.sync(() => {
			const closing = new AbortController();
			return {
				send: sendWith(closing.signal),
				close: Effect.sync(() => closing.abort(new Error("Redis connection closed"))),
			};
		});

		const subscribe = (channel: string, onMessage: (message: Redis.RedisMessage) => void) =>
			Effect.gen(function* () {
				const stream = new AbortController();
				yield* Effect.addFinalizer(() => Effect.sync(() => stream.abort()));
				const subscription = yield* Effect.tryPromise({
					try: (signal) => transport.subscribe(channel, AbortSignal.any([signal, stream.signal])),
					catch: toRedisError,
				});
				return Effect.tryPromise({
					try: async (signal) => {
						signal.addEventListener("abort", () => stream.abort(), { once: true });
						for (;;) {
							const message = await subscription.next();
							if (message === undefined) throw new Error(`Redis subscription to "${channel}" ended`);
							onMessage({ channel, message });
						}
					},
					catch: toRedisError,
				});
			});

		return yield* Redis.make({ send: sendWith(), subscribe, connect });
	});

/** effect's `Redis` service over an `@upstash/redis` client. */
export const layerUpstashRedis = (redis: UpstashRedis): Layer.Layer<Redis.Redis> =>
	Layer.effect(Redis.Redis, makeUpstashRedis(redis));

/** `CircuitBreaker.layerStoreRedis` on `redis`; keys are `<prefix><key>` (default prefix "circuitbreaker:"). */
export const circuitBreakerStoreLayer = (
	redis: UpstashRedis,
	options?: Parameters<typeof CircuitBreaker.layerStoreRedis>[0],
): Layer.Layer<CircuitBreaker.CircuitBreakerStore> =>
	CircuitBreaker.layerStoreRedis(options).pipe(Layer.provide(layerUpstashRedis(redis)));

/** `RateLimiter.layerStoreRedis` on `redis`; keys are `<prefix><key>` (default prefix "ratelimiter:"). */
export const rateLimiterStoreLayer = (
	redis: UpstashRedis,
	options?: Parameters<typeof RateLimiter.layerStoreRedis>[0],
): Layer.Layer<RateLimiter.RateLimiterStore> =>
	RateLimiter.layerStoreRedis(options).pipe(Layer.provide(layerUpstashRedis(redis)));
