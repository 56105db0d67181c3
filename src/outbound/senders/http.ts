/**
 * HTTP pieces shared by the webhook and Telegram senders: status → outcome
 * mapping, Retry-After, a connect-phase deadline, and error text that never
 * carries a URL (webhook URLs and the Telegram API path hold secrets).
 */
import { DeliveryFailed } from "../types.ts";

/** Retry-After as delay-seconds or an HTTP-date; milliseconds from `now`, never negative. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
	if (!value) return undefined;
	const text = value.trim();
	if (/^\d+$/.test(text)) return Number(text) * 1000;
	const date = /[a-z]/i.test(text) ? Date.parse(text) : Number.NaN; // HTTP-dates name a month
	return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Whether a status is worth another attempt: 408, 425, 429 and every 5xx. */
export const isRetryableStatus = (status: number) =>
	status === 408 || status === 425 || status === 429 || status >= 500;

/**
 * The failure for a non-2xx answer: retryable per `isRetryableStatus`, with
 * `retryAfterMs` from Retry-After on 429/503.
 */
export function statusFailure(what: string, response: Response, now = Date.now()): DeliveryFailed {
	const status = response.status;
	const retryable = isRetryableStatus(status);
	const retryAfterMs =
		status === 429 || status === 503 ? parseRetryAfter(response.headers.get("retry-after"), now) : undefined;
	return new DeliveryFailed(`${what} answered ${status}`, retryable, {
		statusCode: status,
		reason: `http_${status}`,
		...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
	});
}

/**
 * A short, URL-free description of a fetch error: Bun's messages quote the
 * URL, so only the error code (ConnectionRefused, ERR_TLS_CERT_ALTNAME_INVALID,
 * …) or name is kept.
 */
export function describeNetworkError(error: unknown): string {
	if (error && typeof error === "object") {
		const { code, name } = error as { code?: unknown; name?: unknown };
		if (typeof code === "string" && code) return code;
		if (typeof name === "string" && name) return name;
	}
	return "network error";
}

/** Lets go of a response body without reading it. */
export async function discard(response: Response): Promise<void> {
	try {
		await response.body?.cancel();
	} catch {
		// already consumed or closed: nothing to release
	}
}

/**
 * Bun's fetch has no connect timeout (only a whole-request signal and a socket
 * idle timer, which also fires while a slow receiver is thinking). So the
 * connect phase is timed on the side: a bare TCP connection to the same
 * address and port, opened alongside the request and closed as soon as it
 * connects. If it has not connected within `ms`, `onTimeout` runs (the caller
 * aborts its request). Returns a function that stops the watch. The cost is one
 * extra TCP handshake per request; the receiver sees a connection that sends
 * nothing.
 */
export function watchConnect(hostname: string, port: number, ms: number, onTimeout: () => void): () => void {
	let done = false;
	const timer = setTimeout(() => {
		if (done) return;
		done = true;
		onTimeout();
	}, ms);
	const finish = () => {
		done = true;
		clearTimeout(timer);
	};
	Bun.connect({
		hostname,
		port,
		socket: {
			open(socket) {
				socket.end();
			},
			data() {},
			error() {},
			connectError() {},
		},
	}).then(finish, finish);
	return finish;
}

/** The port a URL connects to. */
export const portOf = (url: URL) => (url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80);
