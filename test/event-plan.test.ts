/** The event actor's reminder plan: a pure function. */
import { describe, expect, test } from "bun:test";
import { describeOffset, type EventSnapshot, planReminders } from "../workflows/event-plan.ts";

const start = Date.parse("2030-01-10T12:00:00.000Z");
const event = (over: Partial<EventSnapshot> = {}): EventSnapshot => ({
	id: "e1",
	title: "Launch",
	startsAt: new Date(start).toISOString(),
	status: "scheduled",
	reminderOffsets: [86_400, 3600],
	capacity: 10,
	participants: [
		{ id: "p1", userId: "u1", status: "registered" },
		{ id: "p2", userId: "u2", status: "confirmed" },
		{ id: "p3", userId: "u3", status: "waitlisted" },
		{ id: "p4", userId: "u4", status: "attended" },
	],
	...over,
});

describe("planReminders", () => {
	test("registered and confirmed participants get one reminder per offset, earliest first", () => {
		const plan = planReminders(event(), start - 2 * 86_400_000);
		expect(plan.map((r) => [r.participantId, r.offsetSeconds])).toEqual([
			["p1", 86_400],
			["p2", 86_400],
			["p1", 3600],
			["p2", 3600],
		]);
		expect(plan[0]!.fireAt).toBe("2030-01-09T12:00:00.000Z");
		expect(plan[2]!.fireAt).toBe("2030-01-10T11:00:00.000Z");
	});

	test("reminders whose time has passed are dropped, not sent late", () => {
		const plan = planReminders(event(), start - 2 * 3600_000);
		expect(plan.map((r) => r.offsetSeconds)).toEqual([3600, 3600]);
	});

	test("a cancelled event plans nothing", () => {
		expect(planReminders(event({ status: "cancelled" }), 0)).toEqual([]);
	});

	test("keys are stable for the same start and change when the event moves", () => {
		const a = planReminders(event(), 0);
		const b = planReminders(event(), 0);
		const moved = planReminders(event({ startsAt: new Date(start + 60_000).toISOString() }), 0);
		expect(a.map((r) => r.key)).toEqual(b.map((r) => r.key));
		expect(moved.map((r) => r.key).some((k) => a.some((r) => r.key === k))).toBe(false);
	});

	test("offsets read as people say them", () => {
		expect(describeOffset(86_400)).toBe("in 24 h");
		expect(describeOffset(3 * 86_400)).toBe("in 3 days");
		expect(describeOffset(3600)).toBe("in 1 h");
		expect(describeOffset(900)).toBe("in 15 min");
		expect(describeOffset(5)).toBe("in 5 s");
	});
});
