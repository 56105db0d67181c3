/**
 * Business dates a device sends are checked against a sane range before
 * anything is written (a device whose clock says 2099 cannot record a debt
 * that happened in 2099): years from 1900, `occurredOn` at most a day after
 * the server's today (time zones), due dates and reminder times at most 100
 * years ahead. Out of range is `rejected` (422, `reason: "out_of_range"`).
 */
import { Invalid } from "../errors.ts";

const FLOOR = "1900-01-01";

function isoDay(offsetDays: number, years = 0): string {
	const d = new Date();
	d.setUTCDate(d.getUTCDate() + offsetDays);
	d.setUTCFullYear(d.getUTCFullYear() + years);
	return d.toISOString().slice(0, 10);
}

function check(value: unknown, field: string, latest: string): void {
	if (typeof value !== "string") return;
	const day = value.slice(0, 10);
	if (day < FLOOR || day > latest)
		throw new Invalid(`${field} must lie between ${FLOOR} and ${latest}`, { field, reason: "out_of_range" });
}

export function saneDates(args: Record<string, unknown>): void {
	check(args.occurredOn, "occurredOn", isoDay(1));
	check(args.dueDate, "dueDate", isoDay(0, 100));
	check(args.dueAt, "dueAt", isoDay(0, 100));
	for (const e of Array.isArray(args.exdates) ? args.exdates : []) check(e, "exdates", isoDay(0, 100));
}
