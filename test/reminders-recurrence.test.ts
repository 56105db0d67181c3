/**
 * The reminder planner's pure functions: wall-clock recurrence across DST
 * (Europe/Berlin), the documented shift for times that do not exist or exist
 * twice, offsets, EXDATE/UNTIL, validation, and the plan's semantics (missed
 * after downtime, snooze, a schedule put in the past). Plus a property over
 * random rules and zones: firings strictly increase, never repeat, and land
 * on the requested wall time or its documented DST shift.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Temporal } from "temporal-polyfill";
import { planReminder, type ReminderState, upcoming } from "../src/reminders/plan.ts";
import {
	firingsAfter,
	localTime,
	resolveZone,
	type Schedule,
	ScheduleInvalid,
	validateSchedule,
} from "../src/reminders/recurrence.ts";

const BERLIN = "Europe/Berlin";
const schedule = (over: Partial<Schedule>): Schedule => ({
	localStart: "2027-03-26T09:00:00",
	timeZone: BERLIN,
	rrule: null,
	exdates: [],
	offsets: [],
	...over,
});
const utc = (s: Schedule, n = 10, after: number | null = null) =>
	firingsAfter(s, after, n).map((f) => new Date(f.atMs).toISOString());
const ms = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;

describe("wall-clock recurrence in Europe/Berlin", () => {
	test("daily 09:00 is 08:00Z before the spring change, 07:00Z after it, 08:00Z after autumn", () => {
		expect(utc(schedule({ rrule: "FREQ=DAILY;COUNT=4" }))).toEqual([
			"2027-03-26T08:00:00.000Z",
			"2027-03-27T08:00:00.000Z",
			"2027-03-28T07:00:00.000Z",
			"2027-03-29T07:00:00.000Z",
		]);
		expect(utc(schedule({ localStart: "2027-10-30T09:00", rrule: "FREQ=DAILY;COUNT=3" }))).toEqual([
			"2027-10-30T07:00:00.000Z",
			"2027-10-31T08:00:00.000Z",
			"2027-11-01T08:00:00.000Z",
		]);
	});

	test("02:30 on the spring-change day does not exist: it fires at 03:30 (CEST)", () => {
		const daily = schedule({ localStart: "2027-03-27T02:30", rrule: "FREQ=DAILY;COUNT=3" });
		expect(firingsAfter(daily, null, 3).map((f) => localTime(f.atMs, BERLIN))).toEqual([
			"2027-03-27T02:30:00+01:00",
			"2027-03-28T03:30:00+02:00",
			"2027-03-29T02:30:00+02:00",
		]);
		expect(utc(schedule({ localStart: "2027-03-28T02:30" }))).toEqual(["2027-03-28T01:30:00.000Z"]);
	});

	test("02:30 on the autumn-change day exists twice: it fires once, at the first", () => {
		const daily = schedule({ localStart: "2027-10-30T02:30", rrule: "FREQ=DAILY;COUNT=3" });
		expect(utc(daily)).toEqual([
			"2027-10-30T00:30:00.000Z",
			"2027-10-31T00:30:00.000Z", // 02:30 CEST; the second 02:30 (01:30Z) is not another firing
			"2027-11-01T01:30:00.000Z",
		]);
	});

	test("hourly across the spring gap: 02:30 and 03:30 are one instant, fired once", () => {
		const hourly = schedule({ localStart: "2027-03-28T00:30", rrule: "FREQ=HOURLY;COUNT=5" });
		expect(utc(hourly)).toEqual([
			"2027-03-27T23:30:00.000Z",
			"2027-03-28T00:30:00.000Z",
			"2027-03-28T01:30:00.000Z",
			"2027-03-28T02:30:00.000Z",
		]);
	});

	test("offsets count back in wall-clock time: the day before at the same local time", () => {
		const s = schedule({ localStart: "2027-03-29T09:00", offsets: ["P1D", "PT2H", "PT0S"] });
		expect(firingsAfter(s, null, 5).map((f) => [f.id, localTime(f.atMs, BERLIN)])).toEqual([
			["2027-03-29T09:00:00/P1D", "2027-03-28T09:00:00+02:00"],
			["2027-03-29T09:00:00/PT2H", "2027-03-29T07:00:00+02:00"],
			["2027-03-29T09:00:00/PT0S", "2027-03-29T09:00:00+02:00"],
		]);
	});

	test("EXDATE leaves an occurrence out; UNTIL in UTC ends the series", () => {
		const s = schedule({ rrule: "FREQ=DAILY;UNTIL=20270329T070000Z", exdates: ["2027-03-27T09:00:00"] });
		expect(utc(s)).toEqual([
			"2027-03-26T08:00:00.000Z",
			"2027-03-28T07:00:00.000Z",
			"2027-03-29T07:00:00.000Z",
		]);
	});

	test("firings after a given instant skip the ones before it", () => {
		const s = schedule({ rrule: "FREQ=WEEKLY;BYDAY=MO,FR" });
		expect(utc(s, 2, ms("2027-03-26T08:00:00Z"))).toEqual([
			"2027-03-29T07:00:00.000Z",
			"2027-04-02T07:00:00.000Z",
		]);
	});
});

describe("validation", () => {
	const rejects = (over: Partial<Schedule>, field: string) => {
		let error: unknown;
		try {
			validateSchedule(schedule(over));
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(ScheduleInvalid);
		expect((error as ScheduleInvalid).field).toBe(field);
	};
	test("unknown zones, invalid rules, too many offsets and bad dates are refused", () => {
		rejects({ timeZone: "Mars/Olympus" }, "timeZone");
		rejects({ timeZone: "+01:00" }, "timeZone");
		rejects({ rrule: "FREQ=SOMETIMES" }, "rrule");
		rejects({ rrule: "FREQ=MINUTELY" }, "rrule");
		rejects({ rrule: "FREQ=DAILY;BYHOUR=99" }, "rrule");
		rejects({ rrule: "FREQ=DAILY;COUNT=2;UNTIL=20270101" }, "rrule");
		rejects({ rrule: "FREQ=DAILY\nEXDATE:20270101T000000" }, "rrule");
		rejects({ offsets: ["P1D", "P2D", "P3D", "P4D", "P5D", "P6D"] }, "offsets");
		rejects({ offsets: ["-P1D"] }, "offsets");
		rejects({ offsets: ["P1M"] }, "offsets");
		rejects({ localStart: "2027-02-30T09:00" }, "dueAt");
		rejects({ localStart: "2027-03-26T09:00Z" }, "dueAt");
		rejects({ exdates: ["yesterday"] }, "exdates");
		expect(resolveZone("europe/berlin")).toBe(BERLIN);
	});
});

const state = (over: Partial<ReminderState>): ReminderState => ({
	status: "active",
	schedule: schedule({ rrule: "FREQ=DAILY" }),
	firedThroughMs: null,
	plannedFromMs: ms("2027-03-25T00:00:00Z"),
	snooze: null,
	...over,
});

describe("the plan", () => {
	test("on time: the due firing is sent and the next one is waited for", () => {
		const p = planReminder(state({}), ms("2027-03-26T08:00:00.200Z"), HOUR);
		expect(p.send.map((f) => f.id)).toEqual(["2027-03-26T09:00:00"]);
		expect(p.missed).toEqual([]);
		expect(new Date(p.next!.dueMs).toISOString()).toBe("2027-03-27T08:00:00.000Z");
		expect(p.firedThroughMs).toBe(ms("2027-03-26T08:00:00Z"));
	});

	test("more than an hour late (downtime): one missed summary, then the next future firing", () => {
		const s = state({ firedThroughMs: ms("2027-03-26T08:00:00Z") });
		const p = planReminder(s, ms("2027-03-30T12:00:00Z"), HOUR);
		expect(p.send).toEqual([]);
		expect(p.missed.map((f) => f.id)).toEqual([
			"2027-03-27T09:00:00",
			"2027-03-28T09:00:00",
			"2027-03-29T09:00:00",
			"2027-03-30T09:00:00",
		]);
		expect(new Date(p.next!.dueMs).toISOString()).toBe("2027-03-31T07:00:00.000Z");
		const again = planReminder({ ...s, firedThroughMs: p.firedThroughMs }, ms("2027-03-30T12:00:01Z"), HOUR);
		expect([again.send, again.missed]).toEqual([[], []]);
	});

	test("a schedule put in the past fires its latest past firing at once, not the older ones", () => {
		const once = state({
			schedule: schedule({ localStart: "2027-03-20T09:00" }),
			plannedFromMs: ms("2027-03-26T10:00:00Z"),
		});
		const p = planReminder(once, ms("2027-03-26T10:00:01Z"), HOUR);
		expect(p.send.map((f) => f.id)).toEqual(["2027-03-20T09:00:00"]);
		expect(p.exhausted).toBe(true);
		const daily = planReminder(
			{ ...once, schedule: schedule({ localStart: "2027-03-20T09:00", rrule: "FREQ=DAILY" }) },
			ms("2027-03-26T10:00:01Z"),
			HOUR,
		);
		expect(daily.send.map((f) => f.id)).toEqual(["2027-03-26T09:00:00"]);
		expect(daily.missed).toEqual([]);
	});

	test("snooze moves only the pending firing; the series keeps its schedule", () => {
		const snoozed = state({
			firedThroughMs: ms("2027-03-26T08:00:00Z"),
			snooze: { id: "2027-03-27T09:00:00", untilMs: ms("2027-03-27T10:30:00Z") },
		});
		expect(
			upcoming(snoozed, ms("2027-03-26T12:00:00Z"), 3).map((f) => [f.id, new Date(f.dueMs).toISOString()]),
		).toEqual([
			["2027-03-27T09:00:00", "2027-03-27T10:30:00.000Z"],
			["2027-03-28T09:00:00", "2027-03-28T07:00:00.000Z"],
			["2027-03-29T09:00:00", "2027-03-29T07:00:00.000Z"],
		]);
		const at = planReminder(snoozed, ms("2027-03-27T10:30:00Z"), HOUR);
		expect(at.send.map((f) => [f.id, f.snoozed])).toEqual([["2027-03-27T09:00:00", true]]);
		expect(at.clearSnooze).toBe(true);
		expect(new Date(at.next!.dueMs).toISOString()).toBe("2027-03-28T07:00:00.000Z");
	});

	test("paused, completed and cancelled reminders plan nothing", () => {
		for (const status of ["paused", "completed", "cancelled"] as const)
			expect(planReminder(state({ status }), ms("2027-03-26T08:00:00Z"), HOUR)).toMatchObject({
				send: [],
				next: null,
			});
	});
});

const ZONES = [
	"Europe/Berlin",
	"America/New_York",
	"Australia/Lord_Howe",
	"Asia/Kolkata",
	"America/Santiago",
	"UTC",
];

describe("property: firings over random rules and zones", () => {
	test("strictly increasing, never duplicated, on the requested wall time or its DST shift", () => {
		fc.assert(
			fc.property(
				fc.constantFrom(...ZONES),
				fc.date({
					min: new Date("2026-01-01T00:00:00Z"),
					max: new Date("2030-12-31T00:00:00Z"),
					noInvalidDate: true,
				}),
				fc.integer({ min: 0, max: 23 }),
				fc.constantFrom(0, 15, 30, 45),
				fc.constantFrom(
					"FREQ=DAILY",
					"FREQ=HOURLY;INTERVAL=5",
					"FREQ=WEEKLY;BYDAY=MO,SU",
					"FREQ=MONTHLY;BYMONTHDAY=-1",
					"FREQ=DAILY;INTERVAL=3",
				),
				fc.subarray(["PT0S", "P1D", "PT90M"], { maxLength: 3 }),
				(zone, day, hour, minute, rrule, offsets) => {
					const start = `${day.toISOString().slice(0, 10)}T${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")}:00`;
					const s: Schedule = { localStart: start, timeZone: zone, rrule, exdates: [], offsets };
					const firings = firingsAfter(s, null, 40);
					expect(firings.length).toBeGreaterThan(0);
					for (let i = 1; i < firings.length; i++) {
						expect(firings[i]!.atMs).toBeGreaterThanOrEqual(firings[i - 1]!.atMs);
						expect(firings[i]!.id).not.toBe(firings[i - 1]!.id);
					}
					expect(new Set(firings.map((f) => f.id)).size).toBe(firings.length);
					const occurrences = [...new Set(firings.map((f) => f.occurrenceAtMs))];
					for (let i = 1; i < occurrences.length; i++)
						expect(occurrences[i]!).toBeGreaterThan(occurrences[i - 1]!);
					for (const f of firings.filter((x) => x.offset === null || x.offset === "PT0S")) {
						const actual = Temporal.Instant.fromEpochMilliseconds(f.atMs)
							.toZonedDateTimeISO(zone)
							.toPlainDateTime();
						const wanted = Temporal.PlainDateTime.from(f.occurrence);
						// The requested wall time, or (inside a spring gap) moved forward by the gap, at most 1 h.
						const shift = actual.since(wanted, { largestUnit: "minutes" }).total("minutes");
						expect(shift === 0 || (shift > 0 && shift <= 60)).toBe(true);
						if (shift !== 0) {
							const offsetBefore = wanted.toZonedDateTime(zone, {
								disambiguation: "earlier",
							}).offsetNanoseconds;
							const offsetAfter = wanted.toZonedDateTime(zone, { disambiguation: "later" }).offsetNanoseconds;
							expect(offsetAfter).toBeGreaterThan(offsetBefore); // it was a gap
						}
					}
				},
			),
			{ numRuns: 300 },
		);
	});
});
