/** Explain: a trigger's recorded decisions, per event or all, with their reasons. */
import { NotFound } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import { compileTrigger } from "./definition.ts";
import type { DecisionView } from "./model.ts";
import { passesPrefilter } from "./routing.ts";
import { definitionOf, findTrigger } from "./triggers-repository.ts";

interface DecisionRow {
	id: string;
	event_seq: string | null;
	key: string;
	decision: string;
	reason: Record<string, unknown>;
	at: Date;
	fire_key: string | null;
	payload: unknown;
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
			const rows = await sql<DecisionRow[]>`
				select d.id, d.event_seq, d.key, d.decision, d.reason, d.at, f.fire_key, f.payload
				from trigger_decisions d
				left join trigger_fires f on f.fire_key = d.reason ->> 'fireKey'
				where d.trigger_id = ${id} and d.id > ${q.afterId ?? 0}
				  ${seq ? sql`and d.event_seq = ${seq}` : sql``}
				order by d.id limit ${q.limit ?? 100}`;
			const items = rows.map((r): DecisionView & { id: number } => ({
				id: Number(r.id),
				decision: r.decision,
				at: r.at.toISOString(),
				eventSeq: r.event_seq === null ? null : Number(r.event_seq),
				key: r.key,
				reason: r.reason,
				...(r.fire_key ? { fireKey: r.fire_key, payload: r.payload } : {}),
			}));
			return prefilter ? { items, prefilter } : { items };
		},
	};
}

export type ExplainService = ReturnType<typeof createExplainService>;
