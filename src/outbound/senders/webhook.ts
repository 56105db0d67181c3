/**
 * Webhook delivery: a signed JSON POST (see `webhook-signature.ts` for what a
 * receiver checks).
 *
 * - Body `{ id: deliveryId, notification: message }` (or the request's own `body`); headers content-type,
 *   user-agent `Herald-Webhook/1`, `idempotency-key` (the same on every
 *   attempt), `x-herald-delivery`, `x-herald-attempt`, `x-herald-timestamp`,
 *   `x-herald-signature`. The channel's own headers are added first and can
 *   override none of these, nor the connection-level ones (host, length, …).
 * - SSRF: every hop goes through the shared pinned fetch (`pinned-fetch.ts`):
 *   checked by `assertPublicDestination`, then pinned to the first checked
 *   address (rebinding never used). A refused destination fails non-retryably
 *   ("destination_refused"); a name that does not resolve is retryable
 *   ("destination_unresolvable": DNS hiccups pass).
 * - Timeouts: `timeoutMs` is one deadline for the whole attempt, DNS and
 *   redirects included (AbortSignal.timeout). `connectTimeoutMs` is
 *   approximated by `watchConnect` (a side TCP connection to the pinned
 *   address; see http.ts); it is skipped when 0 or not shorter than `timeoutMs`.
 * - Redirects are not followed by fetch: 301/302/303/307/308 to the same host
 *   (and port, and not https → http) are followed up to 3 times, re-posting
 *   the same signed body; another host fails with "redirect_to_other_host".
 * - Status: 2xx delivered; 408/425/429/5xx retryable (Retry-After on 429/503);
 *   other answers non-retryable; network errors and timeouts retryable.
 */
import { injectTraceHeaders } from "../../infra/tracing.ts";
import type { Resolver } from "../ssrf.ts";
import { type ChannelTarget, DeliveryFailed, type DeliveryRequest, type Sender } from "../types.ts";
import { discard, statusFailure } from "./http.ts";
import { createPinnedFetch } from "./pinned-fetch.ts";
import { signWebhook } from "./webhook-signature.ts";

export { signWebhook, verifyWebhookSignature } from "./webhook-signature.ts";

export interface WebhookSenderSettings {
	/** WEBHOOK_ALLOW_PRIVATE: hostnames, IPs, CIDRs that may be private. */
	allowPrivate: readonly string[];
	connectTimeoutMs: number;
	timeoutMs: number;
	/** DNS, for tests; default `dns.promises.lookup`. */
	resolve?: Resolver;
	/** Extra trusted CA certificates (PEM) replacing the defaults: private PKI, tests. */
	ca?: string | string[];
}

export const USER_AGENT = "Herald-Webhook/1";
export const MAX_REDIRECTS = 3;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const PROTECTED = new Set([
	"content-type",
	"user-agent",
	"idempotency-key",
	"host",
	"content-length",
	"content-encoding",
	"transfer-encoding",
	"connection",
	"keep-alive",
	"te",
	"trailer",
	"upgrade",
	"expect",
	"proxy-authorization",
	"proxy-connection",
	"traceparent",
	"tracestate",
]);

/** Whether a channel's custom header would be dropped (ours, or connection-level). */
export const isProtectedHeader = (name: string) => {
	const key = name.trim().toLowerCase();
	return PROTECTED.has(key) || key.startsWith("x-herald-");
};

type WebhookTarget = Extract<ChannelTarget, { kind: "webhook" }>;

function buildHeaders(request: DeliveryRequest, target: WebhookTarget, body: string): Headers {
	const headers = new Headers();
	try {
		for (const [name, value] of Object.entries(target.headers))
			if (!isProtectedHeader(name)) headers.set(name, value);
	} catch {
		throw new DeliveryFailed("webhook: the channel has an invalid custom header", false, {
			reason: "invalid_header",
		});
	}
	const timestamp = Math.floor(Date.now() / 1000);
	headers.set("content-type", "application/json");
	headers.set("user-agent", USER_AGENT);
	headers.set("idempotency-key", request.idempotencyKey);
	headers.set("x-herald-delivery", request.deliveryId);
	headers.set("x-herald-attempt", String(request.attempt));
	headers.set("x-herald-timestamp", String(timestamp));
	headers.set("x-herald-signature", signWebhook(target.secret, timestamp, body));
	// The delivery attempt's span: the receiver can continue Herald's trace.
	for (const [name, value] of Object.entries(injectTraceHeaders({}))) headers.set(name, value);
	return headers;
}

const isSameDestination = (from: URL, to: URL) =>
	from.host === to.host && !(from.protocol === "https:" && to.protocol === "http:");

export function createWebhookSender(settings: WebhookSenderSettings): Sender {
	const send = createPinnedFetch("webhook", settings);
	const post = (url: string, headers: Headers, body: string, deadline: AbortSignal) =>
		send(url, { method: "POST", headers, body }, deadline);

	return async (request) => {
		if (request.target.kind !== "webhook")
			throw new DeliveryFailed(`webhook sender got a ${request.target.kind} target`, false, {
				reason: "wrong_channel",
			});
		const body = JSON.stringify(
			request.body === undefined ? { id: request.deliveryId, notification: request.message } : request.body,
		);
		const headers = buildHeaders(request, request.target, body);
		const deadline = AbortSignal.timeout(settings.timeoutMs);
		let url = request.target.url;
		for (let hop = 0; ; hop++) {
			const { target, response } = await post(url, headers, body, deadline);
			const what = `webhook ${target.host}`;
			await discard(response);
			if (response.status >= 200 && response.status < 300) return { statusCode: response.status };
			if (!REDIRECTS.has(response.status)) throw statusFailure(what, response);
			const redirect = (reason: string, message: string) =>
				new DeliveryFailed(`${what}: ${message}`, false, { statusCode: response.status, reason });
			if (hop >= MAX_REDIRECTS) throw redirect("too_many_redirects", `more than ${MAX_REDIRECTS} redirects`);
			const location = response.headers.get("location");
			let next: URL;
			try {
				next = new URL(location ?? "", target);
			} catch {
				throw redirect("bad_redirect", "redirect without a usable Location");
			}
			if (!location) throw redirect("bad_redirect", "redirect without a Location");
			if (!isSameDestination(target, next))
				throw redirect("redirect_to_other_host", `redirect to another host (${next.host}) refused`);
			url = next.href;
		}
	};
}
