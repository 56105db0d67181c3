/**
 * The shapes the http-health profile suggests, measured by `--profile` next
 * to the real app. Herald does not use this file; it shows what a change to
 * src/http would buy before anyone makes it.
 */
import { Elysia } from "elysia";

/**
 * The same plugin without its `onAfterResponse` hooks. Elysia schedules a
 * `setImmediate` per request for any afterResponse hook, even one that returns
 * at once (request-context's access log is off below LOG_LEVEL=debug).
 */
export function withoutAfterResponse<T>(plugin: T): T {
	const event = (plugin as { event?: { afterResponse?: unknown[] } }).event;
	if (!event) throw new Error("not an Elysia instance");
	event.afterResponse = [];
	return plugin;
}

/**
 * CORS that only answers browsers: requests without an `Origin` header (health
 * checkers, servers, curl) get no CORS headers; preflights are answered in
 * onRequest. Same policy as Herald's @elysiajs/cors setup (any origin, or the
 * listed ones; `x-request-id` exposed).
 */
export function originGatedCors(origins: string[]) {
	const any = origins.includes("*");
	const allowed = new Set(origins);
	return new Elysia({ name: "bench/origin-gated-cors" }).onRequest(({ request, set }) => {
		const origin = request.headers.get("origin");
		if (!origin) {
			if (!any) set.headers.vary = "Origin";
			return;
		}
		if (!any) set.headers.vary = "Origin";
		if (!any && !allowed.has(origin)) return;
		const allow = any ? "*" : origin;
		if (request.method === "OPTIONS")
			return new Response(null, {
				status: 204,
				headers: {
					"access-control-allow-origin": allow,
					"access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
					"access-control-allow-headers": request.headers.get("access-control-request-headers") ?? "*",
					"access-control-max-age": "600",
					...(any ? {} : { vary: "Origin" }),
				},
			});
		set.headers["access-control-allow-origin"] = allow;
		set.headers["access-control-expose-headers"] = "x-request-id";
	});
}
