/**
 * Counting matching events in a window of event time (occurredAt):
 * - sliding: (t − W, t], t = the newest occurredAt seen for the key;
 * - tumbling: [kW, (k + 1)W), aligned to the UTC epoch.
 * An event older than the newest seen by more than the allowed lateness is
 * `late`: reported, not counted, never silently dropped. Within the
 * lateness it counts where it belongs (sliding) or, in tumbling mode, only
 * if its window is the current one. State stays bounded: a sliding window
 * keeps at most `threshold` timestamps (the newest), all a fire needs.
 */
import type { CountClause } from "./definition.ts";

export interface CountState {
	/** Newest occurredAt seen (the watermark), ms. */
	newest: number;
	/** sliding: counted timestamps, ascending, at most `threshold`. */
	times: number[];
	/** tumbling: the current window's index and count. */
	window: number;
	n: number;
	late: number;
	/** Events in the window after the last step. */
	inWindow: number;
	/** `when: "below"` (tumbling): the last closed window reached the threshold. */
	armed?: boolean;
}

/** The window and the allowed lateness in whole milliseconds (a fraction of a second stays exact). */
export const windowMs = (clause: CountClause) => Math.max(1, Math.round(clause.windowSeconds * 1000));
export const latenessMs = (clause: CountClause) => Math.round((clause.allowedLatenessSeconds ?? 0) * 1000);

/** A window that closed below the threshold after one that had reached it (`when: "below"`). */
export interface ClosedBelow {
	count: number;
	/** The window closed, event time, ms: [from, to). */
	from: number;
	to: number;
}

/**
 * `when: "below"`: the next window-close instant on the processing clock (the close in event time
 * plus the allowed lateness), or undefined when no close can fire.
 */
export function closeDue(s: CountState | undefined, clause: CountClause): number | undefined {
	if (!s || clause.when !== "below") return undefined;
	const w = windowMs(clause);
	const lateness = latenessMs(clause);
	if (clause.mode === "tumbling")
		return s.armed || s.n >= clause.threshold ? (s.window + 1) * w + lateness : undefined;
	return s.armed && s.times.length >= clause.threshold ? s.times[0]! + w + lateness : undefined;
}

/**
 * `when: "below"`, on the timer `closeDue` set: closes the current window, by index, not by a
 * time computed back from the due instant, so the step always moves the state on.
 */
export const closeDueWindow = (s: CountState, clause: CountClause): ClosedBelow | undefined =>
	closeUpTo(s, (s.window + 1) * windowMs(clause), clause);

/**
 * `when: "below"` (tumbling): closes each window [kW, (k+1)W) with (k+1)W ≤ t and reports the
 * close that fires, if any: at most one, since a fire disarms until a window reaches the
 * threshold again.
 */
export function closeUpTo(s: CountState, t: number, clause: CountClause): ClosedBelow | undefined {
	const w = windowMs(clause);
	let fired: ClosedBelow | undefined;
	while ((s.window + 1) * w <= t) {
		const below = s.n < clause.threshold;
		if (below && s.armed) fired = { count: s.n, from: s.window * w, to: (s.window + 1) * w };
		s.armed = !below;
		s.window += 1;
		s.n = 0;
		// Disarmed, the windows up to t are empty and cannot fire: skip to t's.
		if (!s.armed) s.window = Math.max(s.window, Math.floor(t / w));
	}
	s.inWindow = s.n;
	return fired;
}

export interface CountStep {
	state: CountState;
	late: boolean;
	lateByMs: number;
	inWindow: number;
}

/** One matching event at `at` (occurredAt). `prior` belongs to the caller's state copy: it is updated in place. */
export function countStep(prior: CountState | undefined, at: number, clause: CountClause): CountStep {
	const w = windowMs(clause);
	const s: CountState = prior ?? {
		newest: at,
		times: [],
		window: Math.floor(at / w),
		n: 0,
		late: 0,
		inWindow: 0,
	};
	const lateByMs = s.newest - at;
	if (lateByMs > latenessMs(clause)) {
		s.late += 1;
		return { state: s, late: true, lateByMs, inWindow: s.inWindow };
	}
	if (at > s.newest) s.newest = at;
	if (clause.mode === "tumbling") {
		const k = Math.floor(at / w);
		const current = Math.floor(s.newest / w);
		if (current > s.window) {
			s.window = current;
			s.n = 0;
		}
		if (k === s.window) s.n += 1;
		else {
			s.late += 1;
			s.inWindow = s.n;
			return { state: s, late: true, lateByMs, inWindow: s.n };
		}
		s.inWindow = s.n;
	} else {
		// Keep the timestamps inside (newest − W, newest], ascending, with `at` in its place, at most `threshold` (the newest).
		const from = s.newest - w;
		const times = s.times;
		let drop = 0;
		while (drop < times.length && times[drop]! <= from) drop++;
		if (drop > 0) times.splice(0, drop);
		if (at > from) {
			let i = times.length;
			while (i > 0 && times[i - 1]! > at) i--;
			times.splice(i, 0, at);
		}
		if (times.length > clause.threshold) times.splice(0, times.length - clause.threshold);
		s.inWindow = times.length;
	}
	return { state: s, late: false, lateByMs: Math.max(0, lateByMs), inWindow: s.inWindow };
}
