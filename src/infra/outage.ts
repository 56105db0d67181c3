/**
 * Logs a dependency outage once: the first failure as a warning, repeats at
 * debug, and one line when it works again (with how long it was down and
 * how many attempts failed). Lost connections are normal events to
 * reconnect from, not something to log on every retry.
 */
import type { Logger } from "./log.ts";

export interface OutageLog {
	failed(error: unknown, fields?: Record<string, unknown>): void;
	ok(): void;
	readonly down: boolean;
}

export function outageLog(log: Logger, what: string, now: () => number = Date.now): OutageLog {
	let since: number | undefined;
	let failures = 0;
	return {
		failed(error, fields) {
			failures++;
			if (since === undefined) {
				since = now();
				log.warn(`${what} failing; retrying`, { ...fields, error });
			} else log.debug(`${what} still failing`, { ...fields, failures, error });
		},
		ok() {
			if (since === undefined) return;
			log.info(`${what} recovered`, { downMs: now() - since, failures });
			since = undefined;
			failures = 0;
		},
		get down() {
			return since !== undefined;
		},
	};
}
