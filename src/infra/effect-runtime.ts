/**
 * The process's one Effect runtime: effect's keyed `CircuitBreaker` and
 * `RateLimiter` on their Redis stores (through `@upstash/redis`), and
 * effect's logs routed into Herald's logger. Built once per process by the
 * composition root (`src/app/`); the destination guard and the auth rate
 * limiter run their effects on it, and `dispose` closes it at shutdown.
 *
 * Redis layout (effect's stores, under `prefix`, default `herald:`): a
 * circuit is one hash at `<prefix>circuit:<key>`, a fixed-window limit one
 * counter at `<prefix>limit:<key>`. Every process that must share circuits
 * and limits uses the same prefix; tests isolate themselves with their own.
 */
import { Cause, Duration, Logger as EffectLogger, Layer, ManagedRuntime } from "effect";
import { CircuitBreaker, RateLimiter } from "effect/persistence";
import type { Logger } from "./log.ts";
import type { UpstashRedis } from "./redis/client.ts";
import { circuitBreakerStoreLayer, rateLimiterStoreLayer } from "./redis/effect-redis.ts";

export const DEFAULT_REDIS_PREFIX = "herald:";

export interface RuntimeSettings {
	/** Consecutive destination failures that open a circuit (BREAKER_FAILURES). */
	breakerFailures: number;
	/** How long an open circuit turns calls away before one probe may pass (BREAKER_OPEN_MS). */
	breakerOpenMs: number;
	prefix?: string;
}

export type HeraldRuntime = ManagedRuntime.ManagedRuntime<
	CircuitBreaker.CircuitBreaker | RateLimiter.RateLimiter,
	never
> & { readonly prefix: string; readonly breakerOpenMs: number };

export function createHeraldRuntime(
	redis: UpstashRedis,
	settings: RuntimeSettings,
	log: Logger,
): HeraldRuntime {
	const prefix = settings.prefix ?? DEFAULT_REDIS_PREFIX;
	const runtime = ManagedRuntime.make(
		Layer.mergeAll(
			CircuitBreaker.layer({
				tripPolicy: CircuitBreaker.consecutive(settings.breakerFailures),
				openDuration: Duration.millis(settings.breakerOpenMs),
				// Callers handle an unreachable store themselves (fail open, logged).
				onStoreError: "fail",
			}).pipe(Layer.provide(circuitBreakerStoreLayer(redis, { prefix: `${prefix}circuit:` }))),
			RateLimiter.layer.pipe(Layer.provide(rateLimiterStoreLayer(redis, { prefix: `${prefix}limit:` }))),
			effectLogBridge(log),
		),
	);
	return Object.assign(runtime, { prefix, breakerOpenMs: settings.breakerOpenMs });
}

/** effect's log lines (warnings from its stores, for example) through Herald's JSON logger. */
function effectLogBridge(log: Logger) {
	return EffectLogger.layer([
		EffectLogger.make(({ message, logLevel, cause }) => {
			const text = (Array.isArray(message) ? message : [message]).map(String).join(" ");
			const fields = cause.reasons.length === 0 ? undefined : { cause: Cause.pretty(cause) };
			if (logLevel === "Fatal" || logLevel === "Error" || logLevel === "Warn") log.warn(text, fields);
			else log.debug(text, fields);
		}),
	]);
}
