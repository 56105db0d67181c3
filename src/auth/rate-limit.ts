/**
 * Login/register throttling with effect's `RateLimiter` on the Redis store
 * (through `@upstash/redis`), so every API process counts together. When
 * Redis is unreachable the limiter fails open and logs: logins keep working.
 */
import { Duration, Effect, Layer, ManagedRuntime } from "effect";
import { RateLimiter } from "effect/persistence";
import { TooManyRequests } from "../http/errors.ts";
import type { Logger } from "../infra/log.ts";
import type { UpstashRedis } from "../infra/redis/client.ts";
import { rateLimiterStoreLayer } from "../infra/redis/effect-redis.ts";

export interface AuthLimits {
	perAccount: number;
	perAddress: number;
	windowSeconds: number;
}

export interface AuthRateLimiter {
	/** Throws 429 with Retry-After when the account or the address is over its limit. */
	check(keys: { account: string; address: string }): Promise<void>;
	dispose(): Promise<void>;
}

export function createAuthRateLimiter(
	redis: UpstashRedis,
	limits: AuthLimits,
	log: Logger,
	prefix = "herald:ratelimit:",
): AuthRateLimiter {
	const runtime = ManagedRuntime.make(
		RateLimiter.layer.pipe(Layer.provide(rateLimiterStoreLayer(redis, { prefix }))),
	);
	const window = Duration.seconds(limits.windowSeconds);
	const consume = (key: string, limit: number) =>
		Effect.gen(function* () {
			const limiter = yield* RateLimiter.RateLimiter;
			return yield* limiter.consume({ key, limit, window, algorithm: "fixed-window", onExceeded: "fail" });
		});
	return {
		async check({ account, address }) {
			const exit = await runtime.runPromiseExit(
				Effect.all([
					consume(`auth:account:${account.toLowerCase()}`, limits.perAccount),
					consume(`auth:address:${address}`, limits.perAddress),
				]),
			);
			if (exit._tag === "Success") return;
			const failure = exit.cause.reasons.find((r) => r._tag === "Fail");
			const error = failure?._tag === "Fail" ? failure.error : undefined;
			if (error?.reason._tag === "RateLimitExceeded")
				throw new TooManyRequests(Math.max(1, Math.ceil(Duration.toMillis(error.reason.retryAfter) / 1000)));
			log.warn("rate limiter unavailable, allowing request", { error: String(error ?? exit.cause) });
		},
		dispose: () => runtime.dispose(),
	};
}
