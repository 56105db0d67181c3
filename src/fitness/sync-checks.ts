/**
 * The sync's checks that need more than one record: the interval rules and
 * the per-day step limit (which reads the user's other records of the day).
 */
import type { Queryable } from "../infra/db/sql.ts";
import { LIMITS, scoreRecords } from "./scoring.ts";
import type { ItemResult, Prepared } from "./sync-service.ts";
import { zoneDays } from "./zone-days.ts";

const MAX_RECORD_MS = 31 * 86_400_000;

/** The UTC offset an RFC 3339 instant was written with, in minutes. */
export function offsetMinutes(text: string): number {
	const m = /([+-])(\d{2}):(\d{2})$/.exec(text);
	if (!m) return 0;
	return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

export function checkInterval(
	startedAt: Date,
	endedAt: Date,
	latestMs: number,
): [string, string] | undefined {
	if (Number.isNaN(startedAt.getTime()) || Number.isNaN(endedAt.getTime()))
		return ["invalid_time", "startedAt and endedAt must be valid instants"];
	if (endedAt <= startedAt) return ["invalid_interval", "endedAt must be after startedAt"];
	if (endedAt.getTime() - startedAt.getTime() > MAX_RECORD_MS)
		return ["too_long", "a record spans at most 31 days"];
	if (endedAt.getTime() > latestMs) return ["in_future", "endedAt is in the future"];
	return undefined;
}

const DAY_MS = 86_400_000;

/** A live competition the record may count for: its window and its zone (whose days are its days). */
export interface ZonedWindow {
	starts_at: Date;
	ends_at: Date;
	time_zone: string;
}

/**
 * The days a record's steps are checked on: for every competition of the user
 * whose window it overlaps, that competition's calendar days (its own zone:
 * 23 or 25 hours at DST changes) that the record touches; outside any
 * competition, the device's local day from the record's own UTC offset.
 */
export function checkDays(p: Prepared, competitions: readonly ZonedWindow[]): Array<[number, number]> {
	const from = p.startedAt.getTime();
	const to = p.endedAt.getTime();
	const mine = competitions.filter((c) => from < c.ends_at.getTime() && to > c.starts_at.getTime());
	if (mine.length === 0) {
		const offsetMs = offsetMinutes(p.item.startedAt) * 60_000;
		const dayStart = Math.floor((from + offsetMs) / DAY_MS) * DAY_MS - offsetMs;
		return [[dayStart, dayStart + DAY_MS]];
	}
	return mine.flatMap((c) =>
		zoneDays(from, to, c.time_zone).map((d): [number, number] => [d.startMs, d.endMs]),
	);
}

/**
 * More than 100,000 steps on one day (see checkDays; sources overlapping per
 * the overlap rule): the records of this batch on that day are flagged
 * `steps_per_day` (those synced earlier keep counting), so the day counts
 * what it had before.
 */
export async function flagDailySteps(
	tx: Queryable,
	userId: string,
	written: Prepared[],
	results: ItemResult[],
	competitions: readonly ZonedWindow[] = [],
): Promise<void> {
	const counted = written.filter((p) => !p.item.deleted && p.flags.length === 0 && (p.item.steps ?? 0) > 0);
	const days = new Map<string, { window: [number, number]; batch: Prepared[] }>();
	for (const p of counted)
		for (const window of checkDays(p, competitions)) {
			const key = window.join("-");
			const day = days.get(key) ?? { window, batch: [] };
			day.batch.push(p);
			days.set(key, day);
		}
	const ordered = [...days.values()].sort((a, b) => a.window[0] - b.window[0] || a.window[1] - b.window[1]);
	for (const { window, batch: all } of ordered) {
		// A record already flagged on another day of this batch is not counted again.
		const batch = all.filter((p) => p.flags.length === 0);
		if (batch.length === 0) continue;
		const [dayStart, dayEnd] = window;
		const rows = await tx<{ source: string; started_at: Date; ended_at: Date; steps: number }[]>`
			select source, started_at, ended_at, steps::float8 as steps from fitness_records
			where user_id = ${userId} and not deleted and cardinality(flags) = 0
			  and started_at < ${new Date(dayEnd)} and ended_at > ${new Date(dayStart)}`;
		const steps = scoreRecords(
			rows.map((r) => ({
				source: r.source,
				startedAtMs: r.started_at.getTime(),
				endedAtMs: r.ended_at.getTime(),
				value: r.steps,
			})),
			dayStart,
			dayEnd,
		);
		if (steps <= LIMITS.stepsPerDay) continue;
		await tx`
			update fitness_records set flags = array_append(flags, 'steps_per_day')
			where user_id = ${userId}
			  and (source, external_id) in (
			    select * from unnest(${batch.map((p) => p.item.source)}::text[], ${batch.map((p) => p.item.externalId)}::text[]))`;
		for (const p of batch) {
			p.flags.push("steps_per_day");
			const result = results.find((r) => r.index === p.index);
			if (result && result.flags !== p.flags) result.flags = [...p.flags];
		}
	}
}
