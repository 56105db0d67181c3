/**
 * Scores and plausibility, as pure functions.
 *
 * Overlap rule (documented in the README): a record's value is spread
 * evenly over its interval; per minute (UTC minute buckets), each source's
 * records are summed (one device's records do not overlap), and the minute
 * counts the MAXIMUM over sources, never their sum. A watch and a phone
 * counting the same walk give the walk once; a walk only the phone saw
 * still counts. The score is the sum over the competition's window,
 * rounded to a whole number at the end.
 */
import type { Kind, Metric } from "./model.ts";

export interface ScoredRecord {
	source: string;
	startedAtMs: number;
	endedAtMs: number;
	value: number;
}

const MINUTE = 60_000;

export function scoreRecords(
	records: readonly ScoredRecord[],
	windowStartMs: number,
	windowEndMs: number,
): number {
	const bySource = new Map<string, Map<number, number>>();
	for (const r of records) {
		const from = Math.max(r.startedAtMs, windowStartMs);
		const to = Math.min(r.endedAtMs, windowEndMs);
		if (to <= from || r.value <= 0) continue;
		const rate = r.value / (r.endedAtMs - r.startedAtMs);
		const minutes = bySource.get(r.source) ?? new Map<number, number>();
		bySource.set(r.source, minutes);
		for (let m = Math.floor(from / MINUTE) * MINUTE; m < to; m += MINUTE) {
			const overlap = Math.min(to, m + MINUTE) - Math.max(from, m);
			minutes.set(m, (minutes.get(m) ?? 0) + rate * overlap);
		}
	}
	const best = new Map<number, number>();
	for (const minutes of bySource.values())
		for (const [m, v] of minutes) best.set(m, Math.max(best.get(m) ?? 0, v));
	let total = 0;
	for (const v of best.values()) total += v;
	return Math.round(total);
}

export interface Plausible {
	kind: Kind;
	manual: boolean;
	startedAtMs: number;
	endedAtMs: number;
	steps: number;
	distanceM: number;
}

/** Limits past which a record is physically implausible (stored, flagged, never counted). */
export const LIMITS = {
	stepsPerMinute: 250,
	stepsPerRecord: 100_000,
	/** Per local day, over all sources (the sync checks it; see sync-service.ts). */
	stepsPerDay: 100_000,
	/** On foot (walk, run, other): faster than a sprint world record sustained. */
	footMetresPerSecond: 7,
	rideMetresPerSecond: 25,
} as const;

export function plausibilityFlags(r: Plausible): string[] {
	const flags: string[] = [];
	const seconds = (r.endedAtMs - r.startedAtMs) / 1000;
	if (r.manual) flags.push("manual");
	if (r.steps > (seconds / 60) * LIMITS.stepsPerMinute) flags.push("steps_per_minute");
	if (r.steps > LIMITS.stepsPerRecord) flags.push("steps_per_day");
	const speed = r.distanceM / seconds;
	if (r.kind === "ride" && speed > LIMITS.rideMetresPerSecond) flags.push("speed");
	if (r.kind !== "ride" && speed > LIMITS.footMetresPerSecond) flags.push("speed");
	return flags;
}

export const metricColumn = (metric: Metric) => metric;
