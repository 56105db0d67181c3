/**
 * The named auth plugin: routes opt in with one word, `{ auth: true }` for any
 * signed-in user or `{ auth: "admin" }` for administrators, and receive the
 * `principal`. Failures are 401 with `token_missing` / `token_expired` /
 * `token_invalid` (403 `forbidden` for a non-admin on an admin route).
 */
import { Elysia } from "elysia";
import { Forbidden } from "../errors.ts";
import type { AuthService, Principal } from "./service.ts";

export function authPlugin(auth: AuthService) {
	// Authentication runs in `transform`, before validation: an anonymous or
	// forbidden caller gets 401/403 and never learns the route's schema from a 422.
	const principals = new WeakMap<Request, Principal>();
	return new Elysia({ name: "herald/auth" }).macro({
		auth: (level: true | "admin") => ({
			async transform({ request, headers }) {
				const principal = await auth.authenticate(headers.authorization);
				if (level === "admin" && principal.user.role !== "admin") throw new Forbidden("administrators only");
				principals.set(request, principal);
			},
			resolve({ request }) {
				return { principal: principals.get(request)! };
			},
			detail: { security: [{ bearer: [] }] },
		}),
	});
}

/**
 * The caller's address for rate limiting. Behind a trusted proxy it is the
 * last X-Forwarded-For entry, the one the proxy appended: earlier entries
 * come from the client and can be anything.
 */
export function clientAddress(
	request: Request,
	server: { requestIP(r: Request): { address: string } | null } | null | undefined,
	trustProxy: boolean,
): string {
	if (trustProxy) {
		const forwarded = request.headers.get("x-forwarded-for")?.split(",").at(-1)?.trim();
		if (forwarded) return forwarded;
	}
	return server?.requestIP(request)?.address ?? "unknown";
}
