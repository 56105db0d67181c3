/**
 * How the destination guard reads outcomes: which failures count against a
 * destination's circuit, and how effect's rejections (open circuit, rate
 * limit) become the `DeliveryFailed` the delivery workflow understands.
 */
import { Cause, Duration, type Exit, Option } from "effect";
import { CircuitBreaker, RateLimiter } from "effect/persistence";
import { DeliveryFailed } from "./types.ts";

/** What `fn` threw, wrapped so that it can never be mistaken for one of effect's errors. */
export class CallFailed {
	constructor(readonly error: unknown) {}
}

/**
 * Only failures that are the destination's fault count:
 * - a retryable `DeliveryFailed` (5xx, 408/425/429, timeouts, refused
 *   connections) is a `Failure`; its `retryAfterMs` (a Retry-After header)
 *   can lengthen the opening it causes, capped by effect's `maxOpenDuration`;
 * - a non-retryable `DeliveryFailed` *with a status code* is a `Success`:
 *   the destination answered (a 4xx says our request was wrong, not that the
 *   destination is down), so it resets the failure streak and a half-open
 *   probe that gets it closes the circuit. `Ignored` would be wrong here:
 *   a destination that only ever answers 4xx would stay half-open, letting
 *   one call through at a time;
 * - a non-retryable `DeliveryFailed` *without* a status code never reached
 *   the destination (refused before sending: SSRF block, invalid address), so
 *   it says nothing about its health: `Ignored`;
 * - a rate-limit rejection (the call never ran) is `Ignored`, which also frees
 *   a half-open probe slot;
 * - anything else (an unexpected error, a defect) is a `Failure`.
 */
export function classify(
	exit: Exit.Exit<unknown, CallFailed | RateLimiter.RateLimiterError>,
): CircuitBreaker.Outcome {
	if (exit._tag === "Success") return CircuitBreaker.success;
	const error = Cause.findErrorOption(exit.cause);
	if (Option.isNone(error)) return CircuitBreaker.failure();
	if (error.value instanceof RateLimiter.RateLimiterError) return CircuitBreaker.ignored;
	const thrown = error.value.error;
	if (!(thrown instanceof DeliveryFailed)) return CircuitBreaker.failure();
	if (thrown.retryable) {
		const hint = thrown.options.retryAfterMs;
		return CircuitBreaker.failure(
			hint !== undefined && hint > 0 ? { retryAfter: Duration.millis(hint) } : {},
		);
	}
	return thrown.options.statusCode !== undefined ? CircuitBreaker.success : CircuitBreaker.ignored;
}

const positiveMillis = (duration: Duration.Duration) => Math.max(1, Math.ceil(Duration.toMillis(duration)));

/**
 * How long a call turned away by a half-open circuit should wait. effect gives
 * no time here (the probe's outcome decides), so: a jittered fraction of a
 * second (never more than the open time), so waiting callers neither burn
 * attempts nor come back all at once.
 */
export const halfOpenRetryMs = (openMs: number) => {
	const base = Math.max(1, Math.min(openMs, 1_000));
	return Math.ceil(base * (0.5 + Math.random() * 0.5));
};

/** effect's rejection as the retryable `DeliveryFailed` the workflow waits on. */
export function rejection(
	destination: string,
	reason: CircuitBreaker.CircuitOpen | CircuitBreaker.CircuitHalfOpen | RateLimiter.RateLimitExceeded,
	openMs: number,
): DeliveryFailed {
	switch (reason._tag) {
		case "CircuitOpen":
			return new DeliveryFailed(`circuit open for ${destination}`, true, {
				retryAfterMs: positiveMillis(reason.retryAfter),
				reason: "circuit_open",
			});
		case "CircuitHalfOpen":
			return new DeliveryFailed(`circuit half-open for ${destination}: a probe is in flight`, true, {
				retryAfterMs: halfOpenRetryMs(openMs),
				reason: "circuit_open",
			});
		case "RateLimitExceeded":
			return new DeliveryFailed(`rate limit ${reason.key} exceeded for ${destination}`, true, {
				retryAfterMs: positiveMillis(reason.retryAfter),
				reason: "rate_limited",
			});
	}
}
