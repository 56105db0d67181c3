/**
 * Calendar days of an IANA time zone as instants: a day runs from one local
 * midnight (or the zone's first instant of the date) to the next, so it lasts
 * 23 or 25 hours at DST changes. Competitions use their own zone; personal
 * stats use the user's profile zone.
 */
import { Temporal } from "temporal-polyfill";

export interface ZoneDay {
	/** YYYY-MM-DD in the zone. */
	date: string;
	startMs: number;
	endMs: number;
}

const startOf = (date: Temporal.PlainDate, zone: string) => date.toZonedDateTime(zone).epochMilliseconds;

/** The zone's calendar date that contains the instant. */
export const dateAt = (ms: number, zone: string): Temporal.PlainDate =>
	Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(zone).toPlainDate();

export function zoneDay(date: Temporal.PlainDate, zone: string): ZoneDay {
	return { date: date.toString(), startMs: startOf(date, zone), endMs: startOf(date.add({ days: 1 }), zone) };
}

/** The zone's days that overlap [fromMs, toMs), in order (at most `max`). */
export function zoneDays(fromMs: number, toMs: number, zone: string, max = 400): ZoneDay[] {
	const days: ZoneDay[] = [];
	for (let d = dateAt(fromMs, zone); days.length < max; d = d.add({ days: 1 })) {
		const day = zoneDay(d, zone);
		if (day.startMs >= toMs) break;
		days.push(day);
	}
	return days;
}

/** Consecutive active days: the longest run, and the run ending at the last day (or the one before it). */
export function streaks(active: readonly boolean[]): { current: number; longest: number } {
	let longest = 0;
	let run = 0;
	for (const a of active) {
		run = a ? run + 1 : 0;
		longest = Math.max(longest, run);
	}
	let current = 0;
	// The last day may not have started yet: a streak ending the day before is still current.
	for (let i = active.length - (active.at(-1) ? 1 : 2); i >= 0 && active[i]; i--) current++;
	return { current, longest };
}
