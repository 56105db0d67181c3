/**
 * The error body every failed request gets, machine-readable:
 * `{ error: { code, message, requestId, details? } }`. Domain errors live in
 * `src/errors.ts`; `error-map.ts` gives their status.
 */
/** 413: the one HTTP-only error, thrown by the edge before any route runs. */
export class PayloadTooLarge extends Error {
	override readonly name = "PayloadTooLarge";
	readonly code = "payload_too_large";
	constructor(limit: number) {
		super(`request body exceeds ${limit} bytes`);
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
