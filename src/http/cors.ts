/**
 * CORS that only answers browsers: requests without an `Origin` header
 * (health checkers, servers, curl) get no CORS headers, and preflights are
 * answered before routing. Any origin with `*` (no credentials), or only the
 * listed ones (echoed, with `Vary: Origin`). `x-request-id` is exposed.
 * Runs inside request-context's one `onRequest` hook: @elysiajs/cors cost
 * ~2-4 µs per request on every route (bench/README.md, http-health --profile).
 */
const METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS";

export interface CorsPolicy {
	any: boolean;
	allowed: Set<string>;
}

export const corsPolicy = (origins: string[]): CorsPolicy => ({
	any: origins.includes("*"),
	allowed: new Set(origins),
});

/** Sets CORS headers on `headers`; returns the answer to a preflight. */
export function applyCors(
	policy: CorsPolicy,
	request: Request,
	headers: Record<string, string | number>,
): Response | undefined {
	const origin = request.headers.get("origin");
	if (!policy.any) headers.vary = "Origin";
	if (!origin || (!policy.any && !policy.allowed.has(origin))) return;
	const allow = policy.any ? "*" : origin;
	if (request.method === "OPTIONS" && request.headers.has("access-control-request-method"))
		return new Response(null, {
			status: 204,
			headers: {
				"access-control-allow-origin": allow,
				"access-control-allow-methods": METHODS,
				"access-control-allow-headers": request.headers.get("access-control-request-headers") ?? "*",
				"access-control-max-age": "600",
				...(policy.any ? {} : { vary: "Origin" }),
			},
		});
	headers["access-control-allow-origin"] = allow;
	headers["access-control-expose-headers"] = "x-request-id";
}
