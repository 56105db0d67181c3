/**
 * The error body every failed request gets, machine-readable:
 * `{ error: { code, message, requestId, details? } }`. Domain errors live in
 * `src/errors.ts` (`error-map.ts` gives their status); the errors below are
 * the edge's own, raised before any route runs.
 */
export class HttpError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly details?: unknown,
		readonly headers?: Record<string, string>,
	) {
		super(message);
	}
}

/** 413: the body is over BODY_LIMIT_BYTES (declared or counted). */
export class PayloadTooLarge extends HttpError {
	override readonly name = "PayloadTooLarge";
	constructor(limit: number) {
		super(413, "payload_too_large", `request body exceeds ${limit} bytes`);
	}
}

/** 415: a body that is not `application/json`. */
export class UnsupportedMediaType extends HttpError {
	override readonly name = "UnsupportedMediaType";
	constructor(contentType: string) {
		super(415, "unsupported_media_type", "request bodies must be application/json", {
			contentType: contentType || null,
		});
	}
}

/** 400: the body is not JSON at all. */
export class MalformedBody extends HttpError {
	override readonly name = "MalformedBody";
	constructor(message = "request body could not be parsed as JSON") {
		super(400, "malformed_body", message);
	}
}

/** 422 for what the edge checks itself, in the shape of schema validation errors. */
export class ValidationFailed extends HttpError {
	override readonly name = "ValidationFailed";
	constructor(on: "body" | "query" | "params", issues: { path: string; message: string }[]) {
		super(422, "validation_failed", `invalid ${on}`, { on, issues });
	}
}

export interface ErrorBody {
	error: { code: string; message: string; requestId: string; details?: unknown };
}

export function errorBody(code: string, message: string, requestId: string, details?: unknown): ErrorBody {
	return {
		error: details === undefined ? { code, message, requestId } : { code, message, requestId, details },
	};
}
