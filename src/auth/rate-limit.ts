/**
 * Login/register throttling with effect's `RateLimiter` on the Redis store
 * (through `@upstash/redis`), so every API process counts together. When
 * Redis is unreachable the limiter fails open and logs: logins keep working.
 */
import { Duration, Effect } from "effect";
import { RateLimiter } from "effect/persistence";
import { RateLimited } from "../errors.ts";
import type { HeraldRuntime } from "../infra/effect-runtime.ts";
import type { Logger } from "../infra/log.ts";

export interface AuthLimits {
	perAccount: number;
	perAddress: number;
	windowSeconds: number;
}

export interface AuthRateLimiter {
	/** Throws 429 with Retry-After when the account or the address is over its limit. */
	check(keys: { account: string; address: string }): Promise<void>;
}

/** Runs on the process's Effect runtime (keys `<prefix>limit:auth:…`). */
export function createAuthRateLimiter(
	runtime: HeraldRuntime,
	limits: AuthLimits,
	log: Logger,
): AuthRateLimiter {
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
				throw new RateLimited(Math.max(1, Math.ceil(Duration.toMillis(error.reason.retryAfter) / 1000)));
			log.warn("rate limiter unavailable, allowing request", { error: String(error ?? exit.cause) });
		},
	};
}
