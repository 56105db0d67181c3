/**
 * The payout provider over HTTP: `POST <PAYOUT_PROVIDER_URL>` with JSON
 * `{ allocationId, userId, amountMinor, currency, reference }` and
 * `Idempotency-Key: payout:<allocation id>` (the same on every attempt: the
 * provider applies each allocation once however often it is sent). The
 * request goes through the webhook sender's pinned fetch
 * (src/outbound/senders/pinned-fetch.ts): the SSRF check (private addresses
 * only when PAYOUT_ALLOW_PRIVATE lists them) and the request both under
 * PAYOUT_TIMEOUT_MS, the connection pinned to the checked address.
 * 2xx: paid (the body's `id` is kept as the provider's reference); 408, 425,
 * 429 and 5xx, timeouts, network errors and a name that does not resolve:
 * retryable; other answers (redirects too): refused for good.
 */
import { discard, statusFailure } from "../../src/outbound/senders/http.ts";
import { createPinnedFetch } from "../../src/outbound/senders/pinned-fetch.ts";
import type { Resolver } from "../../src/outbound/ssrf.ts";

export interface PayoutRequest {
	allocationId: string;
	userId: string;
	amountMinor: number;
	currency: string;
	/** The competition and calculation, for the provider's records. */
	reference: string;
}

export const payoutIdempotencyKey = (allocationId: string) => `payout:${allocationId}`;

export function createPayoutSender(settings: {
	url: string;
	allowPrivate: readonly string[];
	timeoutMs: number;
	/** DNS, for tests. */
	resolve?: Resolver;
}) {
	const destination = `payout:${new URL(settings.url).host.toLowerCase()}`;
	const send = createPinnedFetch("payout provider", {
		allowPrivate: settings.allowPrivate,
		connectTimeoutMs: 0,
		timeoutMs: settings.timeoutMs,
		resolve: settings.resolve,
	});
	return {
		destination,
		async pay(request: PayoutRequest): Promise<{ reference: string | null }> {
			const deadline = AbortSignal.timeout(settings.timeoutMs);
			const headers = new Headers({
				"content-type": "application/json",
				"idempotency-key": payoutIdempotencyKey(request.allocationId),
				"user-agent": "Herald-Payout/1",
			});
			const { response } = await send(
				settings.url,
				{ method: "POST", headers, body: JSON.stringify(request) },
				deadline,
			);
			if (!response.ok) {
				await discard(response);
				throw statusFailure("payout provider", response);
			}
			const body = (await response.json().catch(() => ({}))) as { id?: unknown };
			return { reference: typeof body.id === "string" ? body.id : null };
		},
	};
}
