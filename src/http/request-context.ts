/**
 * The cross-cutting HTTP plugin: request id on every response and log line,
 * CORS, body-size limit (all in ONE onRequest hook: each extra global hook
 * costs every route), access log, and the one error mapper (validation → 422 with
 * the field path, parse → 400, not found → 404, domain errors → their status,
 * anything else → 500 with the request id and no internals).
 */
import { Elysia } from "elysia";
import { DomainError } from "../errors.ts";
import type { Logger } from "../infra/log.ts";
import { applyCors, corsPolicy } from "./cors.ts";
import { httpStatusOf } from "./error-map.ts";
import { errorBody, PayloadTooLarge } from "./errors.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestContext(options: { log: Logger; bodyLimitBytes: number; corsOrigins: string[] }) {
	const { log, bodyLimitBytes } = options;
	const accessLog = log.enabled("debug");
	const cors = corsPolicy(options.corsOrigins);
	const startedAt = new WeakMap<Request, number>();
	const plugin = new Elysia({ name: "herald/request-context" })
		.decorate("log", log)
		.onRequest(({ request, set }) => {
			const incoming = request.headers.get("x-request-id");
			set.headers["x-request-id"] = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
			if (accessLog) startedAt.set(request, performance.now());
			const preflight = applyCors(cors, request, set.headers as Record<string, string>);
			if (preflight) return preflight;
			const length = request.headers.get("content-length");
			if (length !== null && Number(length) > bodyLimitBytes) throw new PayloadTooLarge(bodyLimitBytes);
		})
		.onError({ as: "global" }, ({ code, error, set, request }) => {
			const requestId = (set.headers["x-request-id"] as string | undefined) ?? crypto.randomUUID();
			set.headers["x-request-id"] = requestId;
			if (error instanceof DomainError) {
				const { status, headers } = httpStatusOf(error);
				set.status = status;
				if (headers) Object.assign(set.headers, headers);
				return errorBody(error.code, error.message, requestId, error.details);
			}
			if (error instanceof PayloadTooLarge) {
				set.status = 413;
				return errorBody(error.code, error.message, requestId);
			}
			switch (code) {
				case "VALIDATION": {
					set.status = 422;
					const issues = error.all.map((e) => ({
						path: "path" in e ? e.path || "/" : "/",
						message: "summary" in e && e.summary ? e.summary : e.message,
					}));
					return errorBody("validation_failed", `invalid ${error.type}`, requestId, {
						on: error.type,
						issues,
					});
				}
				case "PARSE":
					set.status = 400;
					return errorBody("malformed_body", "request body could not be parsed", requestId);
				case "NOT_FOUND":
					set.status = 404;
					return errorBody("route_not_found", "no such route", requestId);
				case "INVALID_COOKIE_SIGNATURE":
					set.status = 400;
					return errorBody("invalid_cookie", "invalid cookie signature", requestId);
				default: {
					const status = (error as { status?: unknown }).status;
					if (typeof status === "number" && status >= 400 && status < 500) {
						set.status = status;
						return errorBody("bad_request", String((error as Error).message ?? "bad request"), requestId);
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
