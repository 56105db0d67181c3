/** Delivery and circuit metrics: attempts by kind and outcome, their duration, circuit state per destination. */
import { counter, histogram, sampled } from "../infra/metrics.ts";
import type { DestinationGuard } from "../outbound/guard.ts";

export const deliveryAttempts = counter(
	"herald_delivery_attempts_total",
	"Delivery attempts by channel kind and outcome (ok | retryable | permanent | circuit_open | rate_limited)",
	["kind", "outcome"],
);
export const deliveryAttemptSeconds = histogram(
	"herald_delivery_attempt_duration_seconds",
	"Duration of one delivery attempt, by channel kind",
	["kind"],
);
export const circuitRejections = counter(
	"herald_circuit_rejections_total",
	"Calls the destination guard turned away, by reason (circuit_open | rate_limited)",
	["reason"],
);

/** Circuit state per destination: 0 closed, 1 open, 2 half-open (Redis holds it for every worker). */
export const CIRCUIT_STATE = { closed: 0, open: 1, half_open: 2 } as const;

/** Reads every circuit on each scrape of a worker (one SCAN plus a read per circuit). */
export function sampleCircuits(guard: Pick<DestinationGuard, "list">): () => void {
	return sampled(
		"herald_circuit_state",
		"Circuit breaker state per destination: 0 closed, 1 open, 2 half-open",
		["destination"],
		async () =>
			(await guard.list()).map((c) => ({ labels: { destination: c.key }, value: CIRCUIT_STATE[c.state] })),
	);
}
