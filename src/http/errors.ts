/**
 * Domain errors thrown by services, and the one map from error to HTTP status.
 * Bodies are machine-readable: `{ error: { code, message, requestId, details? } }`.
 */
export class DomainError extends Error {
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

export class NotFound extends DomainError {
	override readonly name = "NotFound";
	constructor(what = "resource") {
		super(404, "not_found", `${what} not found`);
	}
}

export class Conflict extends DomainError {
	override readonly name = "Conflict";
	constructor(message: string, details?: unknown) {
		super(409, "conflict", message, details);
	}
}

export class Unprocessable extends DomainError {
	override readonly name = "Unprocessable";
	constructor(message: string, details?: unknown) {
		super(422, "unprocessable", message, details);
	}
}

/** 401: `token_missing`, `token_expired`, `token_invalid` or `invalid_credentials`. Never echoes the token. */
export class Unauthorized extends DomainError {
	override readonly name = "Unauthorized";
	constructor(
		code: "token_missing" | "token_expired" | "token_invalid" | "invalid_credentials",
		message: string,
	) {
		super(401, code, message, undefined, { "www-authenticate": `Bearer error="invalid_token"` });
	}
}

export class Forbidden extends DomainError {
	override readonly name = "Forbidden";
	constructor(message = "not allowed") {
		super(403, "forbidden", message);
	}
}

export class TooManyRequests extends DomainError {
	override readonly name = "TooManyRequests";
	constructor(retryAfterSeconds: number) {
		super(
			429,
			"rate_limited",
			"too many requests, retry later",
			{ retryAfterSeconds },
			{
				"retry-after": String(retryAfterSeconds),
			},
		);
	}
}

export class PayloadTooLarge extends DomainError {
	override readonly name = "PayloadTooLarge";
	constructor(limit: number) {
		super(413, "payload_too_large", `request body exceeds ${limit} bytes`);
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
