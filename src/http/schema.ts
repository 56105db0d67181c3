/**
 * Schema pieces every route shares, so each rule is stated once:
 * - `JsonInt`: a JSON integer. Elysia's `t.Integer` also accepts a numeric
 *   string (its query-string type, elysiajs/elysia#1532); request bodies are
 *   strict JSON, so they use TypeBox's own.
 * - `Offset`, `Limit`: paging with bounds (an offset past 1,000,000 is a 422,
 *   not a database error).
 * - `DateTime`: an RFC 3339 instant with its time and offset, not a bare date.
 */
import { type IntegerOptions, Type } from "@sinclair/typebox";
import { t } from "elysia";

export const MAX_OFFSET = 1_000_000;

export const JsonInt = (options: IntegerOptions = {}) => Type.Integer(options);

export const Offset = t.Optional(
	t.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0, description: "items to skip" }),
);

export const Limit = (maximum: number, fallback: number) =>
	t.Optional(t.Integer({ minimum: 1, maximum, default: fallback, description: "page size" }));

const RFC3339 = "^\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?([Zz]|[+-]\\d{2}:\\d{2})$";

export const DateTime = (description?: string, example = "2030-05-01T18:00:00Z") =>
	t.String({
		format: "date-time",
		pattern: RFC3339,
		examples: [example],
		...(description ? { description } : {}),
	});
