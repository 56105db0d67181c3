/**
 * The retry policy of each channel kind, from configuration
 * (DELIVERY_RETRY_*; one set of variables today, applied to every kind) and
 * each kind's attempt time limit, derived from its own timeouts.
 */

import type { DeliveryKind, KindPolicy } from "../../workflows/delivery-plan.ts";
import type { HeraldConfig } from "../config.ts";

type DeliverySettings = HeraldConfig["delivery"];

/** Room for the guard (Redis), the SSRF lookup and the attempt's own writes. */
const OVERHEAD_MS = 5_000;
/** SMTP: connect, greeting, and the message, each with nodemailer's own timeouts. */
const EMAIL_ATTEMPT_MS = 60_000;

export function deliveryPolicies(settings: DeliverySettings): Record<DeliveryKind, KindPolicy> {
	const retry = {
		initialIntervalMs: settings.retryInitialMs,
		backoffCoefficient: settings.retryBackoff,
		maximumIntervalMs: Math.max(settings.retryMaxIntervalMs, settings.retryInitialMs),
		maximumAttempts: settings.retryMaxAttempts,
	};
	const http = settings.webhookConnectTimeoutMs + settings.webhookTimeoutMs + OVERHEAD_MS;
	return {
		webhook: { ...retry, startToCloseMs: http },
		telegram: { ...retry, startToCloseMs: http },
		email: { ...retry, startToCloseMs: EMAIL_ATTEMPT_MS },
	};
}
