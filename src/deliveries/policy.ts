/**
 * The retry policy of each channel kind, from configuration: DELIVERY_RETRY_*
 * for every kind, overridden per kind by DELIVERY_RETRY_WEBHOOK / _EMAIL /
 * _TELEGRAM ("initial=500,backoff=1.5,max=60000,attempts=8", any subset), and
 * each kind's attempt time limit, derived from its own timeouts.
 */
import { Option } from "effect";
import type { DeliveryKind, KindPolicy } from "../../workflows/delivery-plan.ts";
import type { HeraldConfig } from "../config.ts";
import { ConfigInvalid } from "../config-kit.ts";

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
		webhook: { ...override(retry, "DELIVERY_RETRY_WEBHOOK", settings.retryWebhook), startToCloseMs: http },
		telegram: { ...override(retry, "DELIVERY_RETRY_TELEGRAM", settings.retryTelegram), startToCloseMs: http },
		email: {
			...override(retry, "DELIVERY_RETRY_EMAIL", settings.retryEmail),
			startToCloseMs: EMAIL_ATTEMPT_MS,
		},
	};
}

type Retry = Omit<KindPolicy, "startToCloseMs">;
const FIELDS: Record<string, keyof Retry> = {
	initial: "initialIntervalMs",
	backoff: "backoffCoefficient",
	max: "maximumIntervalMs",
	attempts: "maximumAttempts",
};

/** Applies a "key=value,…" override; a malformed one is a one-line config error naming the variable. */
export function override(base: Retry, variable: string, spec: Option.Option<string>): Retry {
	if (Option.isNone(spec)) return base;
	const out = { ...base };
	for (const part of spec.value.split(",")) {
		const [key, raw] = part.split("=").map((x) => x.trim());
		const field = FIELDS[key ?? ""];
		const value = Number(raw);
		if (!field || raw === undefined || !Number.isFinite(value) || value <= 0)
			throw new ConfigInvalid(
				`config: ${variable}: expected initial=ms,backoff=n,max=ms,attempts=n (got "${part}")`,
			);
		out[field] = value;
	}
	out.maximumIntervalMs = Math.max(out.maximumIntervalMs, out.initialIntervalMs);
	return out;
}
