/**
 * Webhook signatures, both sides. Herald signs
 * `${timestamp}.${body}` with HMAC-SHA256 under the channel's secret and
 * sends `x-herald-timestamp: <unix seconds>` and
 * `x-herald-signature: v1=<hex>`.
 *
 * A receiver (see `verifyWebhookSignature`):
 * 1. reads the raw body bytes, before any JSON parsing;
 * 2. recomputes the HMAC over `${x-herald-timestamp}.${raw body}` and compares
 *    it in constant time with each `v1=` value of x-herald-signature (a comma
 *    separated list, so a secret can be rotated by sending two);
 * 3. refuses a timestamp further than its tolerance (5 minutes is usual) from
 *    its clock, which bounds replays;
 * 4. deduplicates on `idempotency-key`, which is the same for every attempt
 *    of one delivery (the timestamp and signature are per attempt).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-herald-signature";
export const TIMESTAMP_HEADER = "x-herald-timestamp";

/** The x-herald-signature value for a body sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
	return `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export type SignatureCheck =
	| { ok: true; timestamp: number }
	| { ok: false; reason: "missing_header" | "malformed" | "bad_signature" | "expired" };

type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderSource, name: string): string | undefined {
	if (headers instanceof Headers) return headers.get(name) ?? undefined;
	const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
	const value = key === undefined ? undefined : headers[key];
	return Array.isArray(value) ? value.join(",") : value;
}

/**
 * What a receiver does with a request: "bad_signature" (forged, or the wrong
 * secret) and "expired" (authentic but outside the tolerance: a replay or a
 * skewed clock) stay distinguishable. The signature is checked first, so
 * "expired" is only ever said about a genuine message. `now` is in
 * milliseconds (default `Date.now()`).
 */
export function verifyWebhookSignature(
	secret: string,
	headers: HeaderSource,
	body: string,
	options: { toleranceSeconds: number; now?: number },
): SignatureCheck {
	const timestampText = header(headers, TIMESTAMP_HEADER);
	const signatureText = header(headers, SIGNATURE_HEADER);
	if (!timestampText || !signatureText) return { ok: false, reason: "missing_header" };
	if (!/^\d{1,12}$/.test(timestampText.trim())) return { ok: false, reason: "malformed" };
	const timestamp = Number(timestampText.trim());
	const candidates = signatureText
		.split(",")
		.map((part) => part.trim())
		.filter((part) => part.startsWith("v1="))
		.map((part) => part.slice(3));
	if (candidates.length === 0 || candidates.some((c) => !/^[0-9a-f]{64}$/i.test(c)))
		return { ok: false, reason: "malformed" };
	const expected = Buffer.from(signWebhook(secret, timestamp, body).slice(3), "hex");
	const matches = candidates.some((c) => timingSafeEqual(Buffer.from(c, "hex"), expected));
	if (!matches) return { ok: false, reason: "bad_signature" };
	const now = Math.floor((options.now ?? Date.now()) / 1000);
	if (Math.abs(now - timestamp) > options.toleranceSeconds) return { ok: false, reason: "expired" };
	return { ok: true, timestamp };
}
