/**
 * One outbound HTTP request to a checked, pinned address: the transport
 * under the webhook sender and the fitness payout provider.
 *
 * - SSRF: the URL passes `assertPublicDestination` (private addresses only
 *   when allow-listed) and the request is *pinned* to the first checked
 *   address (the URL's host is replaced by the IP; `Host` and, for https,
 *   `tls.serverName` keep the name, so SNI and certificate checks are for the
 *   name). A second DNS answer (rebinding) is never used. A refused
 *   destination fails non-retryably ("destination_refused"); a name that does
 *   not resolve is retryable ("destination_unresolvable": DNS hiccups pass).
 * - One deadline (the caller's `AbortSignal`, e.g. `AbortSignal.timeout`)
 *   covers the DNS check and the request; past it: retryable "timeout".
 *   `connectTimeoutMs` is approximated by `watchConnect` (see http.ts); it is
 *   skipped when 0 or not shorter than `timeoutMs`.
 * - Redirects are not followed (`redirect: "manual"`): the caller decides.
 * - Errors name the host, never the URL (webhook URLs often embed tokens).
 */
import {
	type AllowList,
	assertPublicDestination,
	DestinationRefused,
	parseAllowList,
	parseIp,
	type Resolver,
} from "../ssrf.ts";
import { DeliveryFailed } from "../types.ts";
import { describeNetworkError, portOf, watchConnect } from "./http.ts";

export interface PinnedFetchSettings {
	/** Hostnames, IPs, CIDRs that may be private. */
	allowPrivate: readonly string[];
	/** 0: no connect timeout of its own. */
	connectTimeoutMs: number;
	/** The whole attempt's limit (the caller's deadline signal): only named in messages. */
	timeoutMs: number;
	/** DNS, for tests; default `dns.promises.lookup`. */
	resolve?: Resolver;
	/** Extra trusted CA certificates (PEM) replacing the defaults: private PKI, tests. */
	ca?: string | string[];
}

export interface PinnedRequest {
	method: string;
	headers: Headers;
	body?: string;
}

export type PinnedFetch = (
	url: string,
	request: PinnedRequest,
	deadline: AbortSignal,
) => Promise<{ target: URL; response: Response }>;

const refusedFailure = (error: DestinationRefused) =>
	error.reason === "unresolvable"
		? new DeliveryFailed(error.message, true, { reason: "destination_unresolvable" })
		: new DeliveryFailed(error.message, false, { reason: "destination_refused" });

/** A pinned fetch whose failures are `DeliveryFailed`, their messages starting with `label`. */
export function createPinnedFetch(label: string, settings: PinnedFetchSettings): PinnedFetch {
	const allow: AllowList = parseAllowList(settings.allowPrivate);

	async function check(url: string) {
		try {
			return await assertPublicDestination(url, { allowPrivate: allow, resolve: settings.resolve });
		} catch (error) {
			if (error instanceof DestinationRefused) throw refusedFailure(error);
			throw error;
		}
	}

	const timedOut = (what: string) =>
		new DeliveryFailed(`${what}: no answer within ${settings.timeoutMs} ms`, true, { reason: "timeout" });

	/** `check` within the deadline: a DNS lookup that hangs must not outlive the attempt. */
	function checkBefore(url: string, deadline: AbortSignal) {
		let onAbort = () => {};
		const aborted = new Promise<never>((_, reject) => {
			onAbort = () => reject(timedOut(label));
			if (deadline.aborted) onAbort();
			else deadline.addEventListener("abort", onAbort, { once: true });
		});
		return Promise.race([check(url), aborted]).finally(() => deadline.removeEventListener("abort", onAbort));
	}

	return async (url, request, deadline) => {
		const { url: target, addresses } = await checkBefore(url, deadline);
		const address = addresses[0]!;
		const pinned = new URL(target.href);
		pinned.hostname = address.includes(":") ? `[${address}]` : address;
		const headers = new Headers(request.headers);
		headers.set("host", target.host);
		const serverName = parseIp(target.hostname) ? undefined : target.hostname;
		const tls =
			target.protocol === "https:"
				? { ...(serverName ? { serverName } : {}), ...(settings.ca ? { ca: settings.ca } : {}) }
				: undefined;
		const connect = new AbortController();
		const useWatch = settings.connectTimeoutMs > 0 && settings.connectTimeoutMs < settings.timeoutMs;
		const stopWatch = useWatch
			? watchConnect(address, portOf(target), settings.connectTimeoutMs, () => connect.abort())
			: () => {};
		try {
			const response = await fetch(pinned, {
				method: request.method,
				headers,
				body: request.body,
				redirect: "manual",
				signal: AbortSignal.any([deadline, connect.signal]),
				...(tls ? { tls } : {}),
			});
			return { target, response };
		} catch (error) {
			const what = `${label} ${target.host}`;
			if (deadline.aborted) throw timedOut(what);
			if (connect.signal.aborted)
				throw new DeliveryFailed(`${what}: no connection within ${settings.connectTimeoutMs} ms`, true, {
					reason: "connect_timeout",
				});
			throw new DeliveryFailed(`${what}: ${describeNetworkError(error)}`, true, { reason: "network_error" });
		} finally {
			stopWatch();
		}
	};
}
