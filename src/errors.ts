/**
 * The errors services throw: what went wrong in domain terms, with a
 * machine-readable `code` and optional `details`, and nothing about HTTP.
 * The edge's one map (`src/http/error-map.ts`) turns each kind into a status
 * code; workers and the bridge can catch them by class.
 */
export abstract class DomainError extends Error {
	constructor(
		readonly code: string,
		message: string,
		readonly details?: unknown,
	) {
		super(message);
	}
}

/** The thing does not exist, or the caller may not know that it does. */
export class NotFound extends DomainError {
	override readonly name = "NotFound";
	constructor(what = "resource") {
		super("not_found", `${what} not found`);
	}
}

/** The request contradicts the current state (a duplicate, a state that forbids the change). */
export class Conflict extends DomainError {
	override readonly name = "Conflict";
	constructor(message: string, details?: unknown) {
		super("conflict", message, details);
	}
}

/** Well-formed input that breaks a rule (`details.field` names the field). */
export class Invalid extends DomainError {
	override readonly name = "Invalid";
	constructor(message: string, details?: unknown) {
		super("unprocessable", message, details);
	}
}

/** Who the caller is could not be established. Never echoes the token. */
export class Unauthenticated extends DomainError {
	override readonly name = "Unauthenticated";
	constructor(
		code: "token_missing" | "token_expired" | "token_invalid" | "invalid_credentials",
		message: string,
	) {
		super(code, message);
	}
}

/** The caller is known but not allowed. */
export class Forbidden extends DomainError {
	override readonly name = "Forbidden";
	constructor(message = "not allowed") {
		super("forbidden", message);
	}
}

/** Over a limit; try again after `retryAfterSeconds`. */
export class RateLimited extends DomainError {
	override readonly name = "RateLimited";
	constructor(readonly retryAfterSeconds: number) {
		super("rate_limited", "too many requests, retry later", { retryAfterSeconds });
	}
}
