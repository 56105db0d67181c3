/**
 * `Idempotency-Key` on every authenticated POST (applied once, in the
 * composition root). The first request with a key claims it (per user) with a
 * fingerprint of method, path, user and body; its 2xx response (status and
 * body) is stored for 24 h and every later request with that key gets it
 * back with `Idempotent-Replayed: true`, without running the handler. The
 * same key with another fingerprint is 422 `idempotency_key_reused`; while
 * the first is still running, 409 `idempotency_in_flight`. A request that
 * fails (any error) wrote nothing (one database transaction) and frees its
 * key, so it may be retried with the same key. Routes without a signed-in
 * caller (login, register) ignore the header.
 *
 * Hooks: the claim runs before the handler (after authentication and schema
 * validation: a 401 or 422 claims nothing), the store after it, the release
 * in an error hook that runs before the edge's error mapper (so this plugin
 * is mounted before `requestContext`).
 */
import { createHash } from "node:crypto";
import { Elysia } from "elysia";
import type { AuthService } from "../auth/service.ts";
import type { Sql } from "../infra/db/sql.ts";
import { HttpError } from "./errors.ts";
import { claimKey, completeKey, findKey, releaseKey } from "./idempotency-store.ts";

export const IDEMPOTENCY_HEADER = "idempotency-key";
export const REPLAYED_HEADER = "idempotent-replayed";
export const MAX_KEY_LENGTH = 255;
/** Visible ASCII, 1 to 255 characters (a UUID is the usual choice). */
export const KEY_PATTERN = `^[\\x21-\\x7E]{1,${MAX_KEY_LENGTH}}$`;
const KEY = new RegExp(KEY_PATTERN);

/** JSON with object keys sorted: the same body in another key order has the same fingerprint. */
function canonical(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
	if (value && typeof value === "object")
		return `{${Object.keys(value)
			.sort()
			.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
			.join(",")}}`;
	return JSON.stringify(value) ?? "null";
}

export function fingerprint(method: string, url: string, userId: string, body: unknown): string {
	const { pathname, search } = new URL(url);
	const bodyHash = createHash("sha256").update(canonical(body)).digest("hex");
	return createHash("sha256").update(`${method}\n${pathname}${search}\n${userId}\n${bodyHash}`).digest("hex");
}

export function idempotency(deps: { sql: Sql; auth: AuthService }) {
	const { sql, auth } = deps;
	const claims = new WeakMap<Request, { userId: string; key: string }>();
	return new Elysia({ name: "herald/idempotency" })
		.onBeforeHandle({ as: "global" }, async ({ request, body, set }) => {
			if (request.method !== "POST") return;
			const key = request.headers.get(IDEMPOTENCY_HEADER);
			if (key === null) return;
			let userId: string;
			try {
				userId = (await auth.authenticate(request.headers.get("authorization"))).user.id;
			} catch {
				return; // a route for anonymous callers (an authenticated one has refused already)
			}
			if (!KEY.test(key))
				throw new HttpError(
					422,
					"idempotency_key_invalid",
					`Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} visible ASCII characters`,
					{ on: "headers", field: "Idempotency-Key" },
				);
			const print = fingerprint(request.method, request.url, userId, body);
			if (await claimKey(sql, userId, key, print)) {
				claims.set(request, { userId, key });
				return;
			}
			const stored = await findKey(sql, userId, key);
			if (stored && stored.fingerprint !== print)
				throw new HttpError(
					422,
					"idempotency_key_reused",
					"this Idempotency-Key was used for another request (method, path or body differ)",
					{ field: "Idempotency-Key" },
				);
			if (!stored || stored.status === null)
				throw new HttpError(
					409,
					"idempotency_in_flight",
					"a request with this Idempotency-Key is still running",
					{
						field: "Idempotency-Key",
					},
				);
			set.headers[REPLAYED_HEADER] = "true";
			if (stored.body === null || stored.status === 204)
				return new Response(null, { status: stored.status, headers: set.headers as Record<string, string> });
			set.status = stored.status;
			return stored.body as Record<string, unknown>;
		})
		.onAfterHandle({ as: "global" }, async ({ request, responseValue, set }) => {
			const claim = claims.get(request);
			if (!claim) return;
			claims.delete(request);
			const status = typeof set.status === "number" ? set.status : 200;
			if (responseValue instanceof Response || status >= 300) {
				await releaseKey(sql, claim.userId, claim.key);
				return;
			}
			await completeKey(sql, claim.userId, claim.key, status, responseValue ?? null);
		})
		.onError({ as: "global" }, async ({ request }) => {
			const claim = claims.get(request);
			if (!claim) return;
			claims.delete(request);
			await releaseKey(sql, claim.userId, claim.key);
		});
}
