/**
 * The cross-cutting HTTP plugin, the one place every route's edge behaviour
 * is decided:
 * - request id on every response and log line, CORS, limits on the body
 *   (413), the URL (414) and the headers (431) — all in ONE onRequest hook:
 *   each extra global hook costs every route;
 * - bodies are JSON objects: another content type is 415, unparsable JSON
 *   400, a JSON value that is not an object 422;
 * - no NUL character in any string of the body, query or path (PostgreSQL
 *   text cannot hold one): 422, checked after authentication;
 * - the one error mapper: domain errors → their status (`error-map.ts`),
 *   validation → 422 with each field's path and rule, an unknown path 404, a
 *   known path with another method 405 with `Allow`, anything else 500 with
 *   the request id and no internals.
 */
import { Elysia, ValidationError } from "elysia";
import { DomainError } from "../errors.ts";
import type { Logger } from "../infra/log.ts";
import { applyCors, corsPolicy } from "./cors.ts";
import { httpStatusOf } from "./error-map.ts";
import {
	errorBody,
	HttpError,
	MalformedBody,
	PayloadTooLarge,
	UnsupportedMediaType,
	ValidationFailed,
} from "./errors.ts";
import { answeredEarly, answeredWithError, requestStarted } from "./metrics.ts";
import { type RouteTable, validationIssues } from "./validation.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Longer URLs get 414; Bun itself refuses a request line + headers over --max-http-header-size. */
export const MAX_URL_BYTES = 8192;
/** Request headers together (names and values) larger than this get 431. */
export const MAX_HEADER_BYTES = 16_384;

export function requestContext(options: {
	log: Logger;
	bodyLimitBytes: number;
	corsOrigins: string[];
	/** Filled once every route is mounted: tells a wrong method (405) from an unknown path (404). */
	routes?: RouteTable;
	/** HTTP RED metrics and request spans (http/metrics.ts) start here (default on). */
	metrics?: boolean;
}) {
	const metrics = options.metrics !== false;
	const { log, bodyLimitBytes } = options;
	const accessLog = log.enabled("debug");
	const cors = corsPolicy(options.corsOrigins);
	const startedAt = new WeakMap<Request, number>();
	const plugin = new Elysia({ name: "herald/request-context" })
		.decorate("log", log)
		.onRequest(({ request, set }) => {
			if (metrics) requestStarted(request);
			const incoming = request.headers.get("x-request-id");
			set.headers["x-request-id"] = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
			if (accessLog) startedAt.set(request, performance.now());
			const preflight = applyCors(cors, request, set.headers as Record<string, string>);
			if (preflight) return answeredEarly(request, preflight);
			if (request.url.length > MAX_URL_BYTES)
				throw new HttpError(414, "uri_too_long", `the URL exceeds ${MAX_URL_BYTES} bytes`);
			if (headerBytes(request.headers) > MAX_HEADER_BYTES)
				throw new HttpError(431, "headers_too_large", `request headers exceed ${MAX_HEADER_BYTES} bytes`);
			const length = request.headers.get("content-length");
			if (length !== null && Number(length) > bodyLimitBytes) throw new PayloadTooLarge(bodyLimitBytes);
		})
		.onParse({ as: "global" }, async ({ request, contentType }) => {
			// No body: the route's schema decides whether one was needed (read nothing, so Elysia's own
			// parser sees an untouched, empty request).
			if (!request.body || request.headers.get("content-length") === "0") return;
			const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
			const bytes = new Uint8Array(await request.arrayBuffer());
			if (bytes.length === 0) return;
			if (type !== "application/json") throw new UnsupportedMediaType(type);
			if (bytes.length > bodyLimitBytes) throw new PayloadTooLarge(bodyLimitBytes); // chunked, no length
			let value: unknown;
			try {
				value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
			} catch {
				throw new MalformedBody();
			}
			if (typeof value !== "object" || value === null || Array.isArray(value))
				throw new ValidationFailed("body", [{ path: "/", message: "the body must be a JSON object" }]);
			return value;
		})
		.onBeforeHandle({ as: "global" }, ({ body, query, params, request }) => {
			// In a URL a NUL can only arrive percent-encoded: most requests skip the walk entirely.
			const inUrl = request.url.includes("%00");
			if (!inUrl && (body === undefined || body === null || typeof body !== "object")) return;
			const ownBody = bodyNulCheckedByRoute.size > 0 && bodyNulCheckedByRoute.has(pathOf(request.url));
			for (const [on, value] of [
				["params", inUrl ? params : undefined],
				["query", inUrl ? query : undefined],
				["body", ownBody ? undefined : body],
			] as const) {
				const path = nulPath(value, "");
				if (path !== undefined) throw new ValidationFailed(on, [{ path: path || "/", message: NUL_MESSAGE }]);
			}
		})
		// The metrics hear every error's final status from here (see http/metrics.ts).
		.onError({ as: "global" }, (ctx) => {
			const body = (({ code, error, set, request }: typeof ctx) => {
				const requestId = (set.headers["x-request-id"] as string | undefined) ?? crypto.randomUUID();
				set.headers["x-request-id"] = requestId;
				// Errors thrown by a parse hook arrive wrapped in Elysia's ParseError.
				const cause = code === "PARSE" ? (error as { cause?: unknown }).cause : undefined;
				if (cause instanceof HttpError) error = cause;
				if (error instanceof DomainError) {
					const { status, headers } = httpStatusOf(error);
					set.status = status;
					if (headers) Object.assign(set.headers, headers);
					return errorBody(error.code, error.message, requestId, error.details);
				}
				if (error instanceof HttpError) {
					set.status = error.status;
					if (error.headers) Object.assign(set.headers, error.headers);
					return errorBody(error.code, error.message, requestId, error.details);
				}
				if (error instanceof ValidationError || code === "VALIDATION") {
					const v = error as ValidationError;
					if (v.type === "response") {
						// The server broke its own contract: a bug to log, never the client's fault.
						log.error("response does not match its schema", {
							requestId,
							method: request.method,
							path: new URL(request.url).pathname,
							issues: validationIssues(v),
						});
						set.status = 500;
						return errorBody("internal", "internal server error", requestId);
					}
					set.status = 422;
					// A query or path value that failed its type's decoding ("property") names no field: find it.
					const field = v.type === "property" ? locate(request.url, v.value) : undefined;
					const on = field?.on ?? v.type;
					const issues = validationIssues(v).map((i) => (field ? { ...i, path: `/${field.name}` } : i));
					return errorBody("validation_failed", `invalid ${on}`, requestId, { on, issues });
				}
				switch (code) {
					case "PARSE":
						set.status = 400;
						return errorBody("malformed_body", "request body could not be parsed", requestId);
					case "NOT_FOUND": {
						const allowed = options.routes?.methodsFor(new URL(request.url).pathname);
						if (allowed?.length) {
							set.status = 405;
							set.headers.allow = allowed.join(", ");
							return errorBody("method_not_allowed", `${request.method} is not allowed here`, requestId, {
								allow: allowed,
							});
						}
						set.status = 404;
						return errorBody("route_not_found", "no such route", requestId);
					}
					case "INVALID_COOKIE_SIGNATURE":
						set.status = 400;
						return errorBody("invalid_cookie", "invalid cookie signature", requestId);
					default: {
						const status = (error as { status?: unknown }).status;
						if (typeof status === "number" && status >= 400 && status < 500) {
							// A framework error with a client status; its message may hold internals: not echoed.
							set.status = status;
							return errorBody("bad_request", "bad request", requestId);
						}
						log.error("unhandled error", {
							requestId,
							method: request.method,
							path: new URL(request.url).pathname,
							error,
						});
						set.status = 500;
						return errorBody("internal", "internal server error", requestId);
					}
				}
			})(ctx);
			answeredWithError(ctx.request, (ctx as { route?: string }).route, Number(ctx.set.status ?? 500));
			return body;
		});
	// Only with the access log on: any afterResponse hook costs a setImmediate per request.
	if (accessLog)
		plugin.onAfterResponse({ as: "global" }, ({ request, set }) => {
			log.debug("request", {
				requestId: set.headers["x-request-id"],
				method: request.method,
				path: new URL(request.url).pathname,
				status: set.status,
				ms: Math.round((performance.now() - (startedAt.get(request) ?? 0)) * 100) / 100,
			});
		});
	return plugin;
}

/** Names and values of all request headers, in bytes (roughly as on the wire). */
function headerBytes(headers: Headers): number {
	let n = 0;
	for (const [name, value] of headers) n += name.length + value.length + 4;
	return n;
}

/** Which query parameter (or path segment) holds `value`. */
function locate(url: string, value: unknown): { on: "query" | "params"; name: string } | undefined {
	const { searchParams } = new URL(url);
	for (const [name, v] of searchParams)
		if (v === String(value) || (v.trim() !== "" && Number(v) === Number(value))) return { on: "query", name };
	return undefined;
}

/**
 * Paths whose route checks the NUL character in its body itself, per item
 * (sync push: a NUL in one queued mutation rejects that mutation, not the
 * whole queue). Routes register their paths when they are built.
 */
const bodyNulCheckedByRoute = new Set<string>();
export const checksBodyNulItself = (...paths: string[]) => {
	for (const p of paths) bodyNulCheckedByRoute.add(p);
};

const pathOf = (url: string) => {
	const start = url.indexOf("/", url.indexOf("//") + 2);
	const end = url.search(/[?#]/);
	return url.slice(start, end === -1 ? undefined : end);
};

export const NUL_MESSAGE = "text must not contain the NUL character (U+0000)";

/** The JSON pointer of the first string (key or value) holding a NUL, if any. */
export function nulPath(value: unknown, at: string): string | undefined {
	if (typeof value === "string") return value.includes("\u0000") ? at : undefined;
	if (typeof value !== "object" || value === null) return undefined;
	for (const [key, inner] of Object.entries(value)) {
		const here = `${at}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
		if (key.includes("\u0000")) return here;
		const found = nulPath(inner, here);
		if (found !== undefined) return found;
	}
	return undefined;
}
