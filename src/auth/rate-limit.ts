/**
 * Login/register throttling with effect's `RateLimiter` on the Redis store
 * (through `@upstash/redis`), so every API process counts together. Two
 * fixed-window counters, per account (the email, any case) and per client
 * address. Every attempt takes a token from both *before* the password is
 * checked (atomically, in Redis: parallel guesses cannot slip past the limit
 * together); a successful login gives its tokens back, so only failures and
 * registrations count and users who sign in often are never locked out.
 * At the limit the request is 429 with Retry-After. When Redis is
 * unreachable the limiter fails open and logs: logins keep working.
 */
import type { Redis as UpstashRedis } from "@upstash/redis";
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

/** What `take` took, to give back after a successful login. */
export interface Taken {
	readonly keys: readonly { key: string; refillMs: number }[];
}

export interface AuthRateLimiter {
	/** Takes one attempt from the account and the address; 429 (RateLimited) when either is at its limit. */
	take(keys: AuthKeys): Promise<Taken>;
	/** Gives a successful login's attempt back. */
	giveBack(taken: Taken): Promise<void>;
}

/**
 * Undoes one `consume` of effect's fixed-window store: one token less, and the
 * window shortened by the one token's refill time the consume added. A counter
 * that expired meanwhile is not recreated.
 */
const GIVE_BACK = `
local n = tonumber(redis.call("GET", KEYS[1]))
if not n then return 0 end
if n <= 1 then redis.call("DEL", KEYS[1]) return 0 end
local ttl = tonumber(redis.call("PTTL", KEYS[1]))
redis.call("SET", KEYS[1], n - 1, "PX", math.max(1, ttl - tonumber(ARGV[1])))
return n - 1`;

/** The answer of one `consumeTokens`. */
export type Consumed =
	| { readonly ok: true }
	| { readonly ok: false; readonly retryAfterSeconds: number }
	/** The store did not answer: callers fail open (and log it). */
	| { readonly ok: "unavailable"; readonly error: string };

/**
 * Takes `tokens` (default 1) from one fixed-window counter of effect's
 * `RateLimiter` (keys `<prefix>limit:<key>`), atomically in Redis. The one
 * place that reads the limiter's answer: login/register throttling below and
 * the ingestion keys (src/triggers/ingest.ts) both go through it.
 */
export async function consumeTokens(
	runtime: HeraldRuntime,
	q: { key: string; limit: number; window: Duration.Duration; tokens?: number },
): Promise<Consumed> {
	const exit = await runtime.runPromiseExit(
		Effect.gen(function* () {
			const limiter = yield* RateLimiter.RateLimiter;
			return yield* limiter.consume({
				key: q.key,
				limit: q.limit,
				window: q.window,
				tokens: q.tokens ?? 1,
				algorithm: "fixed-window",
				onExceeded: "fail",
			});
		}),
	);
	if (exit._tag === "Success") return { ok: true };
	const failure = exit.cause.reasons.find((r) => r._tag === "Fail");
	const error = failure?._tag === "Fail" ? failure.error : undefined;
	if (error?.reason._tag === "RateLimitExceeded")
		return {
			ok: false,
			retryAfterSeconds: Math.max(1, Math.ceil(Duration.toMillis(error.reason.retryAfter) / 1000)),
		};
	return { ok: "unavailable", error: String(error ?? exit.cause) };
}

/** Runs on the process's Effect runtime (keys `<prefix>limit:auth:…`). */
export function createAuthRateLimiter(
	runtime: HeraldRuntime,
	redis: UpstashRedis,
	limits: AuthLimits,
	log: Logger,
): AuthRateLimiter {
	const window = Duration.seconds(limits.windowSeconds);
	// effect's fixed window lengthens a counter's expiry by window / limit per token taken.
	const refillMs = (limit: number) => Math.ceil((limits.windowSeconds * 1000) / limit);
	const keysOf = ({ account, address }: AuthKeys) =>
		[
			[`auth:account:${account.toLowerCase()}`, limits.perAccount],
			[`auth:address:${address}`, limits.perAddress],
		] as const;
	return {
		async take(keys) {
			// Both counters, whatever the other answers (Effect.all would stop at the first refusal).
			const results = await Promise.all(
				keysOf(keys).map(async ([key, limit]) => ({
					key,
					limit,
					consumed: await consumeTokens(runtime, { key, limit, window }),
				})),
			);
			const taken = results
				.filter((r) => r.consumed.ok === true)
				.map((r) => ({ key: r.key, refillMs: refillMs(r.limit) }));
			for (const { consumed } of results) {
				if (consumed.ok === true) continue;
				if (consumed.ok === false) {
					await this.giveBack({ keys: taken }); // a refused attempt counts nowhere
					throw new RateLimited(consumed.retryAfterSeconds);
				}
				log.warn("rate limiter unavailable, allowing request", { error: consumed.error });
			}
			return { keys: taken };
		},
		async giveBack({ keys }) {
			await Promise.all(
				keys.map(({ key, refillMs }) =>
					redis
						.eval(GIVE_BACK, [`${runtime.prefix}limit:${key}`], [String(refillMs)])
						.catch((error: unknown) => {
							log.warn("rate limiter unavailable, attempt not given back", { error: String(error) });
						}),
				),
			);
		},
	};
}
