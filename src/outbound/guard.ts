/**
 * The destination guard: every delivery attempt passes through effect's keyed
 * `CircuitBreaker` (one circuit per `destinationKey`) and, when asked, effect's
 * `RateLimiter`, both on their Redis stores through `@upstash/redis`. The
 * state lives in Redis, so all worker processes share one circuit per
 * destination and one count per limit. No breaker logic is written here:
 * trip policy, open time and the single half-open probe (a Redis lease,
 * renewed while the probe runs) are effect's.
 *
 * Redis layout: effect's stores on the process runtime (src/infra/effect-runtime.ts).
 */
import { Cause, Duration, Effect, Exit, Option } from "effect";
import { CircuitBreaker, RateLimiter } from "effect/persistence";
import type { HeraldConfig } from "../config.ts";
import { circuitRejections } from "../deliveries/metrics.ts";
import { createHeraldRuntime, type HeraldRuntime } from "../infra/effect-runtime.ts";
import type { Logger } from "../infra/log.ts";
import type { UpstashRedis } from "../infra/redis/client.ts";
import { CallFailed, classify, rejection } from "./guard-outcomes.ts";
import type { ChannelTarget } from "./types.ts";

export interface GuardSettings {
	/** Consecutive destination failures that open a circuit (BREAKER_FAILURES). */
	failures: number;
	/** How long an open circuit turns calls away before one probe may pass (BREAKER_OPEN_MS). */
	openMs: number;
	/** Telegram messages per chat per second (TELEGRAM_PER_CHAT_PER_SECOND). */
	telegramPerChat: number;
	/** Telegram messages per second for the whole bot (TELEGRAM_GLOBAL_PER_SECOND). */
	telegramGlobal: number;
	/** Redis key prefix; every process that must share circuits uses the same one. */
	prefix?: string;
}

export interface RateLimit {
	key: string;
	limit: number;
	windowMs: number;
}

export interface CircuitView {
	key: string;
	state: "closed" | "open" | "half_open";
	/** Closed: the current run of consecutive failures. */
	failures?: number;
	/** Open: time until a probe may pass. */
	retryAfterMs?: number;
}

export interface DestinationGuard {
	/**
	 * Runs `fn` through the destination's circuit and the given rate limits.
	 * Throws a retryable `DeliveryFailed` (`reason` "circuit_open" or
	 * "rate_limited", with `retryAfterMs`) without calling `fn` when turned away;
	 * otherwise returns or throws what `fn` did.
	 */
	run<T>(destination: string, fn: () => Promise<T>, options?: { rateLimits?: RateLimit[] }): Promise<T>;
	/** The rate limits a target is subject to (Telegram: per chat, then the whole bot). */
	limitsFor(target: ChannelTarget): RateLimit[];
	/** The circuits Redis knows, sorted by key. */
	list(): Promise<CircuitView[]>;
	/** Closes a circuit by deleting its state; false when Redis has none for `key`. */
	reset(key: string): Promise<boolean>;
	/** Disposes the guard's own runtime (a no-op on a shared one). */
	dispose(): Promise<void>;
}

/** The guard's settings from configuration: API and workers build it alike, so they share circuits. */
export function guardSettings(delivery: HeraldConfig["delivery"], prefix?: string): GuardSettings {
	return {
		failures: delivery.breakerFailures,
		openMs: delivery.breakerOpenMs,
		telegramPerChat: delivery.telegramPerChatPerSecond,
		telegramGlobal: delivery.telegramGlobalPerSecond,
		prefix,
	};
}

/**
 * Runs on the process's Effect runtime when given one (the composition root
 * passes it; `dispose` then leaves it to its owner). Without one (tools,
 * tests) the guard builds and owns its own from `settings`.
 */
export function createDestinationGuard(
	redis: UpstashRedis,
	settings: GuardSettings,
	log: Logger,
	shared?: HeraldRuntime,
): DestinationGuard {
	const runtime =
		shared ??
		createHeraldRuntime(
			redis,
			{ breakerFailures: settings.failures, breakerOpenMs: settings.openMs, prefix: settings.prefix },
			log,
		);
	const circuitPrefix = `${runtime.prefix}circuit:`;

	const guarded = <T>(destination: string, fn: () => Promise<T>, limits: RateLimit[]) =>
		Effect.gen(function* () {
			const breaker = yield* CircuitBreaker.CircuitBreaker;
			const limiter = yield* RateLimiter.RateLimiter;
			// Limits are taken inside the breaker: an open circuit spends no tokens,
			// and a limited probe is `Ignored`, which frees the probe slot.
			const consume = Effect.forEach(
				limits,
				({ key, limit, windowMs }) =>
					limiter.consume({
						key,
						limit,
						window: Duration.millis(windowMs),
						algorithm: "fixed-window",
						onExceeded: "fail",
					}),
				{ discard: true },
			).pipe(
				Effect.catchTag("RateLimiterError", (error) =>
					error.reason._tag === "RateLimitStoreError"
						? Effect.sync(() =>
								log.warn("rate limit store unavailable, sending without the limit", {
									destination,
									error: String(error.reason.cause ?? error.reason.message),
								}),
							)
						: Effect.fail(error),
				),
			);
			const call = Effect.tryPromise({ try: () => fn(), catch: (error) => new CallFailed(error) });
			return yield* breaker.execute(Effect.andThen(consume, call), { key: destination, classify });
		});

	return {
		async run(destination, fn, options = {}) {
			const exit = await runtime.runPromiseExit(guarded(destination, fn, options.rateLimits ?? []));
			if (Exit.isSuccess(exit)) return exit.value;
			const error = Cause.findErrorOption(exit.cause);
			if (Option.isNone(error)) throw Cause.squash(exit.cause);
			const failure = error.value;
			if (failure instanceof CallFailed) throw failure.error;
			const reason = failure.reason;
			if (reason._tag === "CircuitBreakerStoreError" || reason._tag === "RateLimitStoreError") {
				// The breaker store (Redis) is down: fail open. Delivery must not stop
				// because its guard cannot be reached; the Temporal retry policy still
				// bounds what a failing destination costs. `fn` has not run yet: the
				// store failed before admitting the call.
				log.warn("circuit breaker store unavailable, sending unguarded", {
					destination,
					error: String(reason.cause ?? reason.message),
				});
				return fn();
			}
			const refused = rejection(destination, reason, runtime.breakerOpenMs);
			circuitRejections.inc({ reason: refused.options.reason ?? "circuit_open" });
			throw refused;
		},

		limitsFor(target) {
			if (target.kind !== "telegram") return [];
			return [
				{ key: `telegram:chat:${target.chatId}`, limit: settings.telegramPerChat, windowMs: 1_000 },
				{ key: "telegram:global", limit: settings.telegramGlobal, windowMs: 1_000 },
			];
		},

		async list() {
			const keys = await scanKeys(redis, circuitPrefix);
			const views = await Promise.all(
				keys.map(async (redisKey): Promise<CircuitView> => {
					const key = redisKey.slice(circuitPrefix.length);
					const state = await runtime.runPromise(
						CircuitBreaker.CircuitBreaker.use((breaker) => breaker.state(key)),
					);
					switch (state._tag) {
						case "Open": {
							const retryAfterMs = Math.ceil(Duration.toMillis(state.retryAfter));
							// Past its open time a circuit reads Open until the next call probes it.
							return retryAfterMs > 0 ? { key, state: "open", retryAfterMs } : { key, state: "half_open" };
						}
						case "HalfOpen":
							return { key, state: "half_open" };
						case "Closed": {
							const streak = await redis.hget<number | string>(redisKey, "streak");
							return { key, state: "closed", failures: Number(streak ?? 0) };
						}
					}
				}),
			);
			return views.sort((a, b) => a.key.localeCompare(b.key));
		},

		async reset(key) {
			// No effect API closes a circuit; deleting its hash does. A probe in
			// flight then finds no state: its outcome and lease renewals are dropped.
			return (await redis.del(`${circuitPrefix}${key}`)) > 0;
		},

		async dispose() {
			if (!shared) await runtime.dispose();
		},
	};
}

/** Every key under `prefix` (SCAN, so Redis is never blocked), without duplicates. */
async function scanKeys(redis: UpstashRedis, prefix: string): Promise<string[]> {
	const match = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
	const keys = new Set<string>();
	let cursor = "0";
	do {
		const [next, batch] = await redis.scan(cursor, { match, count: 500 });
		for (const key of batch) keys.add(String(key));
		cursor = String(next);
	} while (cursor !== "0");
	return [...keys];
}
