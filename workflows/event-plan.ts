/**
 * The event actor's reminder plan: a pure function of the event row, its
 * participants and the current (workflow) time. Shared by the workflow and
 * its tests.
 */
export interface EventSnapshot {
	id: string;
	title: string;
	startsAt: string;
	/** Absent in results recorded before actors ended after their event. */
	endsAt?: string;
	status: "scheduled" | "cancelled";
	reminderOffsets: number[];
	capacity: number;
	participants: { id: string; userId: string; status: string }[];
}

export interface PlannedReminder {
	participantId: string;
	userId: string;
	offsetSeconds: number;
	fireAt: string;
	/** Stable across replays and re-plans; also the notification's dedupe key. */
	key: string;
}

/**
 * Participant statuses that hold one of the event's places (and get
 * reminders). Everyone else is waiting (`waitlisted`) or gone (`cancelled`);
 * `attended` is recorded after the fact. The one list: SQL uses it too.
 */
export const PLACE_HOLDING = ["registered", "confirmed"] as const;

const REMINDED = new Set<string>(PLACE_HOLDING);

export function planReminders(event: EventSnapshot, nowMs: number): PlannedReminder[] {
	if (event.status !== "scheduled") return [];
	const start = Date.parse(event.startsAt);
	const plan: PlannedReminder[] = [];
	for (const p of event.participants) {
		if (!REMINDED.has(p.status)) continue;
		for (const offset of event.reminderOffsets) {
			const fireAtMs = start - offset * 1000;
			if (fireAtMs <= nowMs) continue; // a reminder whose time has passed is not sent late
			plan.push({
				participantId: p.id,
				userId: p.userId,
				offsetSeconds: offset,
				fireAt: new Date(fireAtMs).toISOString(),
				key: `reminder:${event.id}:${p.id}:${offset}:${event.startsAt}`,
			});
		}
	}
	return plan.sort((a, b) => a.fireAt.localeCompare(b.fireAt) || a.key.localeCompare(b.key));
}

/** Human wording for an offset: "in 1 h", "in 24 h", "in 30 s". */
export function describeOffset(seconds: number): string {
	if (seconds % 86_400 === 0 && seconds >= 172_800) return `in ${seconds / 86_400} days`;
	if (seconds % 3600 === 0) return `in ${seconds / 3600} h`;
	if (seconds % 60 === 0) return `in ${seconds / 60} min`;
	return `in ${seconds} s`;
}
