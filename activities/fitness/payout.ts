/**
 * The payout provider over HTTP: `POST <PAYOUT_PROVIDER_URL>` with JSON
 * `{ allocationId, userId, amountMinor, currency, reference }` and
 * `Idempotency-Key: payout:<allocation id>` (the same on every attempt: the
 * provider applies each allocation once however often it is sent). The
 * destination passes the SSRF check (private addresses only when
 * PAYOUT_ALLOW_PRIVATE lists them) and is reached at the checked address.
 * 2xx: paid (the body's `id` is kept as the provider's reference); 408, 425,
 * 429 and 5xx, timeouts and network errors: retryable; other 4xx: refused for good.
 */
import { describeNetworkError, statusFailure } from "../../src/outbound/senders/http.ts";
import { assertPublicDestination, DestinationRefused } from "../../src/outbound/ssrf.ts";
import { DeliveryFailed } from "../../src/outbound/types.ts";

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
}) {
	const destination = `payout:${new URL(settings.url).host.toLowerCase()}`;
	return {
		destination,
		async pay(request: PayoutRequest): Promise<{ reference: string | null }> {
			let checked: Awaited<ReturnType<typeof assertPublicDestination>>;
			try {
				checked = await assertPublicDestination(settings.url, { allowPrivate: settings.allowPrivate });
			} catch (error) {
				if (error instanceof DestinationRefused)
					throw new DeliveryFailed(error.message, error.reason === "unresolvable", {
						reason: "destination_refused",
					});
				throw error;
			}
			const pinned = new URL(checked.url.href);
			const address = checked.addresses[0]!;
			pinned.hostname = address.includes(":") ? `[${address}]` : address;
			let response: Response;
			try {
				response = await fetch(pinned, {
					method: "POST",
					headers: {
						host: checked.url.host,
						"content-type": "application/json",
						"idempotency-key": payoutIdempotencyKey(request.allocationId),
						"user-agent": "Herald-Payout/1",
					},
					body: JSON.stringify(request),
					redirect: "manual",
					signal: AbortSignal.timeout(settings.timeoutMs),
					tls: { serverName: checked.url.hostname },
				} as RequestInit);
			} catch (error) {
				throw new DeliveryFailed(`payout provider: ${describeNetworkError(error)}`, true, {
					reason: "network",
				});
			}
			if (!response.ok) {
				await response.body?.cancel().catch(() => {});
				throw statusFailure("payout provider", response);
			}
			const body = (await response.json().catch(() => ({}))) as { id?: unknown };
			return { reference: typeof body.id === "string" ? body.id : null };
		},
	};
}
