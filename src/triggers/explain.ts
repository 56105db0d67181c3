/**
 * Explain: a trigger's recorded decisions, per event or all, with their
 * reasons. The processor records a false condition without its operands;
 * they are computed here again, from the stored event and the condition of
 * the trigger version that decided (`trigger_versions`): CEL is pure, so this
 * is what the processor saw.
 */
import { NotFound } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import { type Compiled, compile } from "./cel.ts";
import { compileTrigger } from "./definition.ts";
import type { DecisionView } from "./model.ts";
import type { OwnedEvent } from "./processor-store.ts";
import { eventsBySeq } from "./processor-store.ts";
import { eventVars, operandValues } from "./reducer.ts";
import { passesPrefilter } from "./routing.ts";
import { definitionOf, findTrigger } from "./triggers-repository.ts";

interface DecisionRow {
	id: string;
	event_seq: string | null;
	/** A row of a batch's quiet false conditions: the last seq (its events are in `reason.events`). */
	last_seq?: string | null;
	key: string;
	decision: string;
	reason: Record<string, unknown>;
	at: Date;
	trigger_version: number;
	fire_key: string | null;
	payload: unknown;
}

/** Fills in the operand values of the page's false conditions that were stored without them. */
async function withOperands(sql: Sql, owner: string, triggerId: string, rows: DecisionRow[]) {
	const open = rows.filter(
		(r) => r.decision === "condition_false" && r.event_seq !== null && !("operands" in r.reason),
	);
	if (open.length === 0) return;
	const [events, versions] = await Promise.all([
		eventsBySeq(sql, owner, [...new Set(open.map((r) => Number(r.event_seq)))]),
		sql<{ version: number; condition: string; ema: boolean }[]>`
			select version, condition, ema from trigger_versions
			where trigger_id = ${triggerId} and version = any(${[...new Set(open.map((r) => r.trigger_version))]}::int[])`,
	]);
	const bySeq = new Map<number, OwnedEvent>(events.map((e) => [e.seq, e]));
	const conditions = new Map<number, Compiled | null>();
	for (const v of versions) {
		try {
			conditions.set(v.version, compile(v.condition, { ema: v.ema }, "bool"));
		} catch {
			conditions.set(v.version, null);
		}
	}
	for (const r of open) {
		const event = bySeq.get(Number(r.event_seq));
		const condition = conditions.get(r.trigger_version);
		if (!event || !condition) {
			r.reason = {
				...r.reason,
				operands: null,
				operandsUnavailable: event ? "trigger version" : "event expired",
			};
			continue;
		}
		const state = (r.reason.state ?? {}) as { ema?: number; ema_prev?: number; ema_samples?: number };
		const vars = condition.operands.length === 0 ? {} : { ...eventVars(event) };
		if (state.ema !== undefined)
			Object.assign(vars, { ...state, ema_samples: BigInt(state.ema_samples ?? 0) });
		r.reason = { ...r.reason, operands: operandValues(condition, vars) };
	}
}

/**
 * One item per decision: a batch row of quiet false conditions becomes one per event (only `seq`'s
 * when given). Whole rows only, and no row after the items reach `limit` (a page may hold more: up
 * to one batch row beyond it).
 */
function expand(rows: DecisionRow[], seq: number | undefined, limit: number): DecisionRow[] {
	const out: DecisionRow[] = [];
	for (const r of rows) {
		if (out.length >= limit) break;
		if (r.last_seq === null || r.last_seq === undefined) {
			out.push(r);
			continue;
		}
		const events = (r.reason.events ?? []) as [number, string, number, string?][];
		for (const [s, key, at, missing] of events) {
			if (seq !== undefined && s !== seq) continue;
			out.push({
				...r,
				event_seq: String(s),
				last_seq: null,
				key,
				at: new Date(at),
				reason: missing === undefined ? { value: false } : { missing },
			});
		}
	}
	return out;
}

export function createExplainService({ sql }: { sql: Sql }) {
	return {
		async decisions(owner: string, id: string, q: { eventId?: string; afterId?: number; limit?: number }) {
			const trigger = await findTrigger(sql, owner, id);
			if (!trigger) throw new NotFound("trigger");
			let seq: string | undefined;
			let prefilter: string | undefined;
			if (q.eventId) {
				const [event] = await sql<{ seq: string; type: string; source_id: string }[]>`
					select seq, type, source_id from ingested_events where id = ${q.eventId} and owner_id = ${owner}`;
				if (!event) throw new NotFound("event");
				seq = event.seq;
				const compiled = compileTrigger(definitionOf(trigger), { id, version: trigger.version });
				prefilter = passesPrefilter(compiled, { type: event.type, source: event.source_id })
					? "pass"
					: "miss";
			}
			const limit = q.limit ?? 100;
			const rows = await sql<DecisionRow[]>`
				select d.id, d.event_seq, d.last_seq, d.key, d.decision, d.reason, d.at, d.trigger_version,
				       f.fire_key, f.payload
				from trigger_decisions d
				left join trigger_fires f on f.fire_key = d.reason ->> 'fireKey'
				where d.trigger_id = ${id} and d.id > ${q.afterId ?? 0}
				  ${seq ? sql`and d.event_seq = ${seq} and d.last_seq is null` : sql``}
				order by d.id limit ${limit}`;
			if (seq) {
				// The batch row of quiet false conditions that holds the event, if any (ranges never overlap).
				const group = await sql<DecisionRow[]>`
					select id, event_seq, last_seq, key, decision, reason, at, trigger_version, null as fire_key, null as payload
					from trigger_decisions
					where trigger_id = ${id} and last_seq is not null and last_seq >= ${seq} and id > ${q.afterId ?? 0}
					order by last_seq limit 1`;
				if (group[0] && Number(group[0].event_seq) <= Number(seq)) rows.push(group[0]);
			}
			const expanded = expand(rows, seq === undefined ? undefined : Number(seq), limit);
			await withOperands(sql, owner, id, expanded);
			const items = expanded
				.map((r): DecisionView & { id: number } => ({
					id: Number(r.id),
					decision: r.decision,
					at: r.at.toISOString(),
					eventSeq: r.event_seq === null ? null : Number(r.event_seq),
					key: r.key,
					reason: r.reason,
					...(r.fire_key ? { fireKey: r.fire_key, payload: r.payload } : {}),
				}))
				// A batch row's events interleave with the batch's other decisions: in decision order.
				.sort((a, b) => a.at.localeCompare(b.at) || (a.eventSeq ?? Infinity) - (b.eventSeq ?? Infinity));
			// Items are in decision order; pages follow row ids: continue after the page's largest.
			const last = expanded.reduce((m, r) => Math.max(m, Number(r.id)), 0);
			const page = { items, ...(last > 0 ? { nextAfterId: last } : {}) };
			return prefilter ? { ...page, prefilter } : page;
		},
	};
}

export type ExplainService = ReturnType<typeof createExplainService>;
