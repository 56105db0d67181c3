/**
 * What a reminder does at a given moment: a pure function of its row (status,
 * schedule, cursor, snooze) and the time, shared by the actor's activity and
 * the preview route.
 *
 * - Every firing scheduled at or before `firedThroughMs` was handled.
 * - A schedule change (create, edit, re-plan after a time-zone change) is
 *   "planned from" its time: of the firings it leaves in the past, the latest
 *   is due at once and the older ones are dropped (no burst).
 * - A firing sent more than `lateMs` after it was due (the worker was down)
 *   is not sent on its own: all such firings go into one "missed" summary.
 * - A snooze moves one firing to `untilMs`; the series keeps its schedule.
 */
import { type Firing, firingById, firingsAfter, type Schedule } from "./recurrence.ts";

export type ReminderStatus = "active" | "paused" | "completed" | "cancelled";

export interface ReminderState {
	status: ReminderStatus;
	schedule: Schedule;
	firedThroughMs: number | null;
	plannedFromMs: number;
	snooze: { id: string; untilMs: number } | null;
}

export interface DueFiring extends Firing {
	/** When it is due: its time, or the snooze's, never before the schedule was set. */
	dueMs: number;
	snoozed: boolean;
}

export interface Plan {
	/** Due now and on time: one notification each. */
	send: DueFiring[];
	/** More than `lateMs` late: one summary notification for all. */
	missed: DueFiring[];
	/** The next firing to wait for, or null. */
	next: DueFiring | null;
	/** The cursor after handling `send` and `missed` (and the firings a schedule change dropped). */
	firedThroughMs: number | null;
	/** The snoozed firing was handled (or no longer exists): clear the snooze. */
	clearSnooze: boolean;
	/** Active, and nothing will ever fire again: the reminder is complete. */
	exhausted: boolean;
}

/** Firings handled in one step at most (a long downtime on an hourly rule): the rest go next step. */
export const MAX_FIRINGS_PER_STEP = 10_000;
/** How far back a schedule change looks for the one past firing it sends at once. */
const LOOKBACK_MS = 400 * 86_400_000;

const idle = (s: ReminderState): Plan => ({
	send: [],
	missed: [],
	next: null,
	firedThroughMs: s.firedThroughMs,
	clearSnooze: false,
	exhausted: false,
});

export function planReminder(s: ReminderState, nowMs: number, lateMs: number): Plan {
	if (s.status !== "active") return idle(s);
	const snoozed = s.snooze ? firingById(s.schedule, s.snooze.id) : null;
	const lowerMs = Math.max(s.firedThroughMs ?? Number.NEGATIVE_INFINITY, s.plannedFromMs - LOOKBACK_MS);
	const past = firingsAfter(s.schedule, lowerMs, MAX_FIRINGS_PER_STEP, nowMs).filter(
		(f) => f.id !== snoozed?.id,
	);
	let cursor = s.firedThroughMs;
	const advance = (ms: number) => {
		cursor = cursor === null ? ms : Math.max(cursor, ms);
	};
	// Firings before the schedule was set: the latest is due from then, older ones are dropped.
	const before = past.filter((f) => f.atMs < s.plannedFromMs);
	const since = past.filter((f) => f.atMs >= s.plannedFromMs);
	const due: DueFiring[] = [];
	if (past.length > 0) advance(past.at(-1)!.atMs);
	if (before.length > 0) due.push({ ...before.at(-1)!, dueMs: s.plannedFromMs, snoozed: false });
	for (const f of since) due.push({ ...f, dueMs: f.atMs, snoozed: false });
	let clearSnooze = s.snooze !== null && snoozed === null;
	if (snoozed && s.snooze!.untilMs <= nowMs) {
		due.push({ ...snoozed, dueMs: Math.max(s.snooze!.untilMs, s.plannedFromMs), snoozed: true });
		advance(snoozed.atMs);
		clearSnooze = true;
	}
	due.sort((a, b) => a.dueMs - b.dueMs || a.id.localeCompare(b.id));
	const send = due.filter((f) => nowMs - f.dueMs <= lateMs);
	const missed = due.filter((f) => nowMs - f.dueMs > lateMs);
	const pendingSnooze = snoozed && !clearSnooze ? snoozed : null;
	const next = upcoming(s, nowMs, 1, cursor, pendingSnooze)[0] ?? null;
	// A full step may have left firings before now: the next step (at once) takes them.
	const more = past.length === MAX_FIRINGS_PER_STEP;
	return {
		send,
		missed,
		next: more ? { ...past.at(-1)!, dueMs: nowMs, snoozed: false } : next,
		firedThroughMs: cursor,
		clearSnooze,
		exhausted: !more && next === null,
	};
}

/** The next `count` firings after now, by when they are due (the preview; a snoozed one at its new time). */
export function upcoming(
	s: ReminderState,
	nowMs: number,
	count: number,
	cursor = s.firedThroughMs,
	snoozed = s.snooze ? firingById(s.schedule, s.snooze.id) : null,
): DueFiring[] {
	if (s.status !== "active") return [];
	const after = Math.max(cursor ?? Number.NEGATIVE_INFINITY, nowMs);
	const list: DueFiring[] = firingsAfter(s.schedule, after, count + 1)
		.filter((f) => f.id !== snoozed?.id)
		.map((f) => ({ ...f, dueMs: Math.max(f.atMs, s.plannedFromMs), snoozed: false }));
	if (snoozed && s.snooze) list.push({ ...snoozed, dueMs: Math.max(s.snooze.untilMs, nowMs), snoozed: true });
	return list.sort((a, b) => a.dueMs - b.dueMs || a.id.localeCompare(b.id)).slice(0, count);
}

/** The firings of the occurrence that is next (what `complete` ends): its id and its last firing's time. */
export function currentOccurrence(
	s: ReminderState,
	nowMs: number,
): { occurrence: string; lastFiringMs: number; firingIds: string[] } | null {
	const next = upcoming(s, nowMs, 1)[0];
	if (!next) return null;
	const rest = firingsAfter(s.schedule, next.atMs - 1, s.schedule.offsets.length + 1).filter(
		(f) => f.occurrence === next.occurrence,
	);
	const all = [next, ...rest.filter((f) => f.id !== next.id)];
	return {
		occurrence: next.occurrence,
		lastFiringMs: Math.max(...all.map((f) => f.atMs), next.atMs),
		firingIds: all.map((f) => f.id),
	};
}
