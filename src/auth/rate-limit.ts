/**
 * Login/register throttling with effect's `RateLimiter` on the Redis store
 * (through `@upstash/redis`), so every API process counts together. Two
 * fixed-window counters, per account (the email, any case) and per client
 * address; each takes:
 * - a failed login (a good one costs nothing: users who sign in often are
 *   never locked out, only guessing is);
 * - a registration attempt (registration stays limited per address).
 * Before verifying a login or registering, both counters are checked without
 * taking a token: at the limit the request is 429 with Retry-After.
 * When Redis is unreachable the limiter fails open and logs: logins keep working.
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

export interface AuthKeys {
	account: string;
	address: string;
}

export interface AuthRateLimiter {
	/** Throws 429 (RateLimited) when the account or the address is at its limit; counts nothing. */
	check(keys: AuthKeys): Promise<void>;
	/** Counts one failed login, or one registration, against both. */
	count(keys: AuthKeys): Promise<void>;
}

/** Runs on the process's Effect runtime (keys `<prefix>limit:auth:…`). */
export function createAuthRateLimiter(
	runtime: HeraldRuntime,
	limits: AuthLimits,
	log: Logger,
): AuthRateLimiter {
	const window = Duration.seconds(limits.windowSeconds);
	const keysOf = ({ account, address }: AuthKeys) =>
		[
			[`auth:account:${account.toLowerCase()}`, limits.perAccount],
			[`auth:address:${address}`, limits.perAddress],
		] as const;
	// Zero tokens against limit - 1 takes nothing and fails once the count has reached the limit.
	const consume = (key: string, limit: number, tokens: 0 | 1) =>
		Effect.gen(function* () {
			const limiter = yield* RateLimiter.RateLimiter;
			return yield* limiter.consume({
				key,
				limit: tokens === 0 ? limit - 1 : limit,
				tokens,
				window,
				algorithm: "fixed-window",
				onExceeded: "fail",
			});
		});
	const run = async (keys: AuthKeys, tokens: 0 | 1) => {
		const exit = await runtime.runPromiseExit(
			Effect.all(keysOf(keys).map(([key, limit]) => consume(key, limit, tokens))),
		);
		if (exit._tag === "Success") return;
		const failure = exit.cause.reasons.find((r) => r._tag === "Fail");
		const error = failure?._tag === "Fail" ? failure.error : undefined;
		if (error?.reason._tag === "RateLimitExceeded") {
			if (tokens === 1) return; // counting the one that reached the limit: the next check refuses
			throw new RateLimited(Math.max(1, Math.ceil(Duration.toMillis(error.reason.retryAfter) / 1000)));
		}
		log.warn("rate limiter unavailable, allowing request", { error: String(error ?? exit.cause) });
	};
	return {
		check: (keys) => run(keys, 0),
		count: (keys) => run(keys, 1),
	};
}
