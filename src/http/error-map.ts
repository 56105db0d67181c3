/** The one map from a domain error to its HTTP status and headers. */
import {
	Conflict,
	type DomainError,
	Forbidden,
	Invalid,
	NotFound,
	RateLimited,
	Unauthenticated,
} from "../errors.ts";

export function httpStatusOf(error: DomainError): { status: number; headers?: Record<string, string> } {
	if (error instanceof NotFound) return { status: 404 };
	if (error instanceof Conflict) return { status: 409 };
	if (error instanceof Invalid) return { status: 422 };
	if (error instanceof Unauthenticated)
		return { status: 401, headers: { "www-authenticate": `Bearer error="invalid_token"` } };
	if (error instanceof Forbidden) return { status: 403 };
	if (error instanceof RateLimited)
		return { status: 429, headers: { "retry-after": String(error.retryAfterSeconds) } };
	return { status: 400 };
}
