/** Calendar dates (`YYYY-MM-DD`, no time zone) checked before they reach PostgreSQL. */
import { Invalid } from "../errors.ts";

/** A real day of years 1 to 9999 (2026-02-30 or 0000-01-01 is 422, not a database error). */
export function validDate(value: string, field: string): string {
	const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
	const [, y = "0", m = "0", d = "0"] = match ?? [];
	const date = new Date(0);
	date.setUTCFullYear(Number(y), Number(m) - 1, Number(d));
	const ok =
		match !== null &&
		Number(y) >= 1 &&
		date.getUTCFullYear() === Number(y) &&
		date.getUTCMonth() === Number(m) - 1 &&
		date.getUTCDate() === Number(d);
	if (!ok) throw new Invalid(`${field} is not a valid date (YYYY-MM-DD)`, { field, reason: "invalid_date" });
	return value;
}

/** Today in UTC as `YYYY-MM-DD`. */
export const today = (): string => new Date().toISOString().slice(0, 10);
