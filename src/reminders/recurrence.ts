/**
 * A reminder's occurrences and firings: pure functions of its schedule
 * (used by the actor's activity, the preview route and the tests).
 *
 * Recurrence runs on wall-clock time: the RRULE (rrule-temporal) expands the
 * local DTSTART as if it were UTC, where every wall time exists exactly
 * once, and each resulting wall time is then placed in the real zone the way
 * RFC 5545 §3.3.5 reads an explicit local time: a time inside a spring-forward
 * gap moves forward by the gap (02:30 → 03:30), a time that exists twice
 * (autumn) is the first of the two. Two wall times that land on the same
 * instant (02:30 and 03:30 on the spring day, HOURLY) are one occurrence.
 * UNTIL with `Z` is an instant; a floating UNTIL is a wall time.
 *
 * Temporal comes from `temporal-polyfill`: rrule-temporal normalises to it,
 * its types match the library's, and it works the same under Node and Bun
 * (Bun's global `Temporal` is absent from Node and from TypeScript's libs).
 */
import { RRuleTemporal } from "rrule-temporal";
import { Temporal } from "temporal-polyfill";

export interface Schedule {
	/** Wall-clock DTSTART, `YYYY-MM-DDTHH:MM[:SS]`. */
	localStart: string;
	/** The IANA zone it is read in (a floating reminder's is the owner's). */
	timeZone: string;
	/** RRULE value (`FREQ=…;…`), or null for a one-off reminder. */
	rrule: string | null;
	/** Wall-clock times of occurrences the series leaves out. */
	exdates: readonly string[];
	/** ISO 8601 durations before each occurrence; empty = at the occurrence. */
	offsets: readonly string[];
}

/** One notification's time: an occurrence, less one of the offsets. */
export interface Firing {
	/** `<occurrence wall time>` or `<occurrence wall time>/<offset>`: unique per reminder, the notification's key. */
	id: string;
	/** The occurrence's wall time (seconds precision, no zone). */
	occurrence: string;
	/** The occurrence's instant. */
	occurrenceAtMs: number;
	offset: string | null;
	/** When it fires (occurrence less the offset, in wall-clock arithmetic). */
	atMs: number;
}

export const MAX_OFFSETS = 5;
/** Rules this frequent are refused: a reminder is for people, and a burst is never wanted. */
const ALLOWED_FREQ = new Set(["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]);
const RULE_PARTS = new Set([
	"FREQ",
	"INTERVAL",
	"COUNT",
	"UNTIL",
	"BYMINUTE",
	"BYHOUR",
	"BYDAY",
	"BYMONTHDAY",
	"BYYEARDAY",
	"BYWEEKNO",
	"BYMONTH",
	"BYSETPOS",
	"WKST",
]);

export class ScheduleInvalid extends Error {
	constructor(
		readonly field: string,
		message: string,
	) {
		super(message);
	}
}

/** The canonical name of an IANA zone, or a ScheduleInvalid. */
export function resolveZone(zone: string, field = "timeZone"): string {
	try {
		// An IANA name, canonical as Intl spells it (offsets such as "+01:00" are not zones).
		if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone)) throw new RangeError(zone);
		const name = new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
		return Temporal.Now.zonedDateTimeISO(name).timeZoneId;
	} catch {
		throw new ScheduleInvalid(field, `unknown time zone "${zone}"`);
	}
}

/** A wall time `YYYY-MM-DDTHH:MM[:SS]` (no offset, no zone), normalised to seconds. */
export function wallTime(value: string, field: string): string {
	if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value))
		throw new ScheduleInvalid(
			field,
			`${field} must be a local date-time YYYY-MM-DDTHH:MM[:SS] without offset`,
		);
	try {
		return Temporal.PlainDateTime.from(value, { overflow: "reject" }).toString({ smallestUnit: "second" });
	} catch {
		throw new ScheduleInvalid(field, `${field} is not a valid date-time`);
	}
}

/** Validates an offset: a non-negative ISO 8601 duration of weeks, days, hours, minutes, up to 366 days. */
export function offsetDuration(value: string, field = "offsets"): Temporal.Duration {
	let d: Temporal.Duration;
	try {
		d = Temporal.Duration.from(value);
	} catch {
		throw new ScheduleInvalid(field, `offset "${value}" is not an ISO 8601 duration such as P1D or PT2H`);
	}
	if (d.sign < 0 || d.years !== 0 || d.months !== 0 || d.seconds !== 0 || d.milliseconds !== 0)
		throw new ScheduleInvalid(field, `offset "${value}" must be weeks, days, hours or minutes before`);
	if (d.total({ unit: "hours", relativeTo: "2000-01-01" }) > 366 * 24)
		throw new ScheduleInvalid(field, `offset "${value}" is longer than 366 days`);
	return d;
}

interface ParsedRule {
	/** The rule without UNTIL (applied here, in the right time scale). */
	body: string;
	untilInstantMs?: number;
	untilWall?: Temporal.PlainDateTime;
}

function parseRule(rrule: string): ParsedRule {
	const text = rrule.trim().replace(/^RRULE:/i, "");
	if (text.length === 0 || text.length > 500 || /[\r\n]/.test(text))
		throw new ScheduleInvalid("rrule", "rrule must be one RRULE value, e.g. FREQ=WEEKLY;BYDAY=MO");
	const parts = new Map<string, string>();
	for (const part of text.split(";")) {
		const [key, value, extra] = part.split("=");
		const name = key?.toUpperCase() ?? "";
		if (!value || extra !== undefined || !RULE_PARTS.has(name) || parts.has(name))
			throw new ScheduleInvalid("rrule", `rrule part "${part}" is not supported`);
		parts.set(name, value.toUpperCase());
	}
	const freq = parts.get("FREQ");
	if (!freq || !ALLOWED_FREQ.has(freq))
		throw new ScheduleInvalid("rrule", "rrule needs FREQ=HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY");
	if (parts.has("COUNT") && parts.has("UNTIL"))
		throw new ScheduleInvalid("rrule", "rrule may have COUNT or UNTIL, not both");
	const ints = (name: string, min: number, max: number, signed = false) => {
		const v = parts.get(name);
		if (v === undefined) return;
		for (const n of v.split(",")) {
			const x = Number(n);
			const ok = /^[+-]?\d+$/.test(n) && Number.isInteger(x) && Math.abs(x) >= min && Math.abs(x) <= max;
			if (!ok || (!signed && x < 0)) throw new ScheduleInvalid("rrule", `rrule ${name}=${v} is out of range`);
		}
	};
	ints("INTERVAL", 1, 1000);
	ints("COUNT", 1, 100_000);
	ints("BYMINUTE", 0, 59);
	ints("BYHOUR", 0, 23);
	ints("BYMONTHDAY", 1, 31, true);
	ints("BYYEARDAY", 1, 366, true);
	ints("BYWEEKNO", 1, 53, true);
	ints("BYMONTH", 1, 12);
	ints("BYSETPOS", 1, 366, true);
	const byDay = parts.get("BYDAY");
	if (byDay && !byDay.split(",").every((d) => /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/.test(d)))
		throw new ScheduleInvalid("rrule", `rrule BYDAY=${byDay} is not valid`);
	const wkst = parts.get("WKST");
	if (wkst && !/^(MO|TU|WE|TH|FR|SA|SU)$/.test(wkst))
		throw new ScheduleInvalid("rrule", `rrule WKST=${wkst} is not valid`);
	const parsed: ParsedRule = { body: "" };
	const until = parts.get("UNTIL");
	if (until) {
		const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(until);
		if (!m) throw new ScheduleInvalid("rrule", `rrule UNTIL=${until} is not a date or date-time`);
		try {
			const wall = Temporal.PlainDateTime.from(
				{
					year: +m[1]!,
					month: +m[2]!,
					day: +m[3]!,
					hour: m[4] ? +m[4] : 23,
					minute: m[5] ? +m[5] : 59,
					second: m[6] ? +m[6] : 59,
				},
				{ overflow: "reject" },
			);
			if (m[7]) parsed.untilInstantMs = wall.toZonedDateTime("UTC").epochMilliseconds;
			else parsed.untilWall = wall;
		} catch {
			throw new ScheduleInvalid("rrule", `rrule UNTIL=${until} is not a valid date`);
		}
		parts.delete("UNTIL");
	}
	parsed.body = [...parts].map(([k, v]) => `${k}=${v}`).join(";");
	return parsed;
}

/** Throws ScheduleInvalid for anything the schedule cannot be planned from. */
export function validateSchedule(s: Schedule): void {
	wallTime(s.localStart, "dueAt");
	resolveZone(s.timeZone);
	if (s.offsets.length > MAX_OFFSETS) throw new ScheduleInvalid("offsets", `at most ${MAX_OFFSETS} offsets`);
	if (new Set(s.offsets).size !== s.offsets.length) throw new ScheduleInvalid("offsets", "offsets repeat");
	for (const o of s.offsets) offsetDuration(o);
	for (const e of s.exdates) wallTime(e, "exdates");
	if (s.rrule !== null) {
		const rule = compile(s);
		rule.next(); // the library's own checks (e.g. contradictory BY parts) fail here, not later
	}
}

interface Compiled {
	next(afterWall?: Temporal.PlainDateTime): Temporal.PlainDateTime | null;
}

/** The series in wall-clock time (as UTC, where no wall time is skipped or doubled). */
function compile(s: Schedule): Compiled {
	const start = Temporal.PlainDateTime.from(s.localStart);
	if (s.rrule === null)
		return { next: (after) => (after && Temporal.PlainDateTime.compare(start, after) <= 0 ? null : start) };
	const parsed = parseRule(s.rrule);
	let rule: RRuleTemporal;
	try {
		rule = new RRuleTemporal({ rruleString: parsed.body, dtstart: start.toZonedDateTime("UTC") });
	} catch (error) {
		throw new ScheduleInvalid("rrule", `rrule is not valid: ${(error as Error).message}`);
	}
	return {
		next(after) {
			let z: Temporal.ZonedDateTime | null;
			try {
				z = after ? rule.next(after.toZonedDateTime("UTC")) : rule.next(start.toZonedDateTime("UTC"), true);
			} catch (error) {
				// The library gives up on rules with no occurrence (BYMONTHDAY=31;BYMONTH=2): the rule's fault.
				throw new ScheduleInvalid(
					"rrule",
					`rrule has no occurrence the library can find: ${(error as Error).message}`,
				);
			}
			if (!z) return null;
			const wall = z.toPlainDateTime();
			if (parsed.untilWall && Temporal.PlainDateTime.compare(wall, parsed.untilWall) > 0) return null;
			return wall;
		},
	};
}

/** Where a wall time lies in `zone` (RFC 5545 §3.3.5: a gap moves forward, a repeat takes the first). */
export const placeWall = (wall: Temporal.PlainDateTime, zone: string): Temporal.ZonedDateTime =>
	wall.toZonedDateTime(zone, { disambiguation: "compatible" });

const firingOf = (s: Schedule, occurrence: Temporal.ZonedDateTime, wall: string, offset: string | null) => {
	// The offset counts back from the requested wall time (not from where a DST gap moved it).
	const at = offset
		? placeWall(Temporal.PlainDateTime.from(wall).subtract(offsetDuration(offset)), s.timeZone)
		: occurrence;
	return {
		id: offset ? `${wall}/${offset}` : wall,
		occurrence: wall,
		occurrenceAtMs: occurrence.epochMilliseconds,
		offset,
		atMs: at.epochMilliseconds,
	};
};

/** The firing a key names (a snoozed one), or null if the schedule no longer has it. */
export function firingById(s: Schedule, id: string): Firing | null {
	const [wall, offset = null] = id.split("/");
	if (!wall || (offset !== null && !s.offsets.includes(offset))) return null;
	if (offset === null && s.offsets.length > 0) return null;
	try {
		return firingOf(s, placeWall(Temporal.PlainDateTime.from(wall), s.timeZone), wall, offset);
	} catch {
		return null;
	}
}

/**
 * The series' occurrences after `afterMs` (exclusive; null = from the start), in order,
 * strictly increasing (an occurrence whose firings may still come after `afterMs` included).
 */
export function* occurrences(
	s: Schedule,
	afterMs: number | null,
): Generator<{ wall: string; at: Temporal.ZonedDateTime }> {
	const rule = compile(s);
	const parsed = s.rrule === null ? undefined : parseRule(s.rrule);
	const excluded = new Set(s.exdates.map((e) => wallTime(e, "exdates")));
	// Wall time and instant differ by at most a day either way: start a little before.
	let cursor: Temporal.PlainDateTime | undefined =
		afterMs === null
			? undefined
			: Temporal.Instant.fromEpochMilliseconds(afterMs)
					.toZonedDateTimeISO(s.timeZone)
					.toPlainDateTime()
					.subtract({ hours: 27 });
	let lastMs = Number.NEGATIVE_INFINITY;
	for (let guard = 0; guard < 200_000; guard++) {
		const wall = rule.next(cursor);
		if (!wall) return;
		cursor = wall;
		const text = wall.toString({ smallestUnit: "second" });
		if (excluded.has(text)) continue;
		const at = placeWall(wall, s.timeZone);
		const ms = at.epochMilliseconds;
		if (parsed?.untilInstantMs !== undefined && ms > parsed.untilInstantMs) return;
		if (ms <= lastMs) continue; // two wall times, one instant (a spring gap): one occurrence
		lastMs = ms;
		if (afterMs !== null && ms <= afterMs - maxOffsetMs(s)) continue;
		yield { wall: text, at };
	}
}

const maxOffsetMs = (s: Schedule) =>
	Math.max(
		0,
		...s.offsets.map((o) => offsetDuration(o).total({ unit: "milliseconds", relativeTo: "2000-01-01" })),
	) +
	3 * 3_600_000; // a DST shift inside the offset's span

/**
 * The firings scheduled after `afterMs` (exclusive), earliest first, at most `limit`,
 * stopping at `untilMs` (inclusive) when given. Ties are ordered by id.
 */
export function firingsAfter(
	s: Schedule,
	afterMs: number | null,
	limit: number,
	untilMs = Number.POSITIVE_INFINITY,
): Firing[] {
	const found: Firing[] = [];
	const span = maxOffsetMs(s);
	for (const o of occurrences(s, afterMs)) {
		// Every firing of later occurrences is at or after o - span: stop once they can only come later.
		if (found.length >= limit && o.at.epochMilliseconds - span > found[limit - 1]!.atMs) break;
		if (o.at.epochMilliseconds - span > untilMs) break;
		for (const offset of s.offsets.length ? s.offsets : [null]) {
			const f = firingOf(s, o.at, o.wall, offset);
			if ((afterMs === null || f.atMs > afterMs) && f.atMs <= untilMs) found.push(f);
		}
		found.sort((a, b) => a.atMs - b.atMs || a.id.localeCompare(b.id));
		if (found.length > limit) found.length = limit;
	}
	return found;
}

/** The zone's UTC offset at an instant, e.g. `+02:00`. */
export const utcOffset = (ms: number, zone: string): string =>
	Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(zone).offset;

/** An instant as local wall time with its offset, e.g. `2027-03-28T09:00:00+02:00`. */
export const localTime = (ms: number, zone: string): string =>
	Temporal.Instant.fromEpochMilliseconds(ms)
		.toZonedDateTimeISO(zone)
		.toString({ smallestUnit: "second", timeZoneName: "never" });
