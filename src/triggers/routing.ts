/** Which trigger hears an event (the prefilter) and under which state key. */
import type { CompiledTrigger } from "./definition.ts";
import { type Decision, type EventSnapshot, eventVars } from "./reducer.ts";

export const passesPrefilter = (t: CompiledTrigger, e: Pick<EventSnapshot, "type" | "source">): boolean =>
	t.eventTypes.has(e.type) && (t.sourceIds.size === 0 || t.sourceIds.has(e.source));

/** Keys are at most this long (a longer value is cut, deterministically). */
export const MAX_KEY_LENGTH = 200;

/** The state key of an event: its key expression's value as text ("" without one). */
export function keyOf(
	t: CompiledTrigger,
	e: EventSnapshot,
	deadlineMs: number,
): { ok: true; key: string } | { ok: false; decision: Decision } {
	if (!t.key) return { ok: true, key: "" };
	const r = t.key.evaluate(eventVars(e), deadlineMs);
	if (r.ok) {
		const v = r.value;
		const text =
			typeof v === "string"
				? v
				: typeof v === "bigint" || typeof v === "number" || typeof v === "boolean"
					? String(v)
					: JSON.stringify(v);
		return { ok: true, key: text.slice(0, MAX_KEY_LENGTH) };
	}
	return {
		ok: false,
		decision: {
			kind: "condition_error",
			at: e.receivedAt,
			eventSeq: e.seq,
			reason: r.missing ? { in: "key", missing: r.message } : { in: "key", code: r.code, message: r.message },
		},
	};
}
