/** The maintenance runs' records. */
import type { Queryable } from "../infra/db/sql.ts";

export interface ReconcileStatus {
	/** When the reconciler last finished (null before its first run). */
	lastRunAt: string | null;
	/** What it repaired then, e.g. `{ "eventActor.started": 1 }` (zeros left out). */
	repaired: Record<string, number>;
	/** Repairs over the last 24 hours, summed per kind. */
	repairedLastDay: Record<string, number>;
}

export async function lastReconcile(sql: Queryable): Promise<ReconcileStatus> {
	const [last] = await sql<{ finished_at: Date; repaired: Record<string, number> }[]>`
		select finished_at, repaired from reconcile_runs order by id desc limit 1`;
	const day = await sql<{ kind: string; n: number }[]>`
		select kind, sum(value::int)::int as n
		from reconcile_runs, jsonb_each_text(repaired) as r(kind, value)
		where finished_at > now() - interval '1 day' group by kind having sum(value::int) > 0`;
	const nonZero = (o: Record<string, number>) =>
		Object.fromEntries(Object.entries(o).filter(([, v]) => v > 0));
	return {
		lastRunAt: last?.finished_at.toISOString() ?? null,
		repaired: nonZero(last?.repaired ?? {}),
		repairedLastDay: Object.fromEntries(day.map((r) => [r.kind, r.n])),
	};
}
