/**
 * CORS that only answers browsers: requests without an `Origin` header
 * (health checkers, servers, curl) get no CORS headers, and preflights are
 * answered before routing. Any origin with `*` (no credentials), or only the
 * listed ones (echoed, with `Vary: Origin`). `x-request-id` is exposed.
 * Replaces @elysiajs/cors, which cost ~2-4 µs per request on every route
 * (bench/README.md, http-health --profile).
 */
import { Elysia } from "elysia";

const METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS";

export function cors(origins: string[]) {
	const any = origins.includes("*");
	const allowed = new Set(origins);
	return new Elysia({ name: "herald/cors" }).onRequest(({ request, set }) => {
		const origin = request.headers.get("origin");
		if (!any) set.headers.vary = "Origin";
		if (!origin || (!any && !allowed.has(origin))) return;
		const allow = any ? "*" : origin;
		if (request.method === "OPTIONS" && request.headers.has("access-control-request-method"))
			return new Response(null, {
				status: 204,
				headers: {
					"access-control-allow-origin": allow,
					"access-control-allow-methods": METHODS,
					"access-control-allow-headers": request.headers.get("access-control-request-headers") ?? "*",
					"access-control-max-age": "600",
					...(any ? {} : { vary: "Origin" }),
				},
			});
		set.headers["access-control-allow-origin"] = allow;
		set.headers["access-control-expose-headers"] = "x-request-id";
	});
}
