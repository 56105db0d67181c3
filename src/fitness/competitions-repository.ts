/** SQL for competitions and their participants; rows mapped to the public view. */
import type { Queryable } from "../infra/db/sql.ts";
import type { CompetitionStatus, Metric } from "./model.ts";

export interface CompetitionRow {
	id: string;
	organiser_id: string;
	name: string;
	description: string;
	metric: Metric;
	time_zone: string;
	starts_at: Date;
	ends_at: Date;
	max_participants: number | null;
	prize_pool_minor: number;
	currency: string;
	payout_bps: number[];
	status: CompetitionStatus;
	frozen_at: Date | null;
	created_at: Date;
	participants: number;
	joined: boolean;
}

export interface CompetitionFields {
	name?: string;
	description?: string;
	metric?: Metric;
	time_zone?: string;
	starts_at?: Date;
	ends_at?: Date;
	max_participants?: number | null;
	prize_pool_minor?: number;
	currency?: string;
	payout_bps?: number[];
	status?: CompetitionStatus;
}

const columns = (sql: Queryable, viewer: string) => sql`
	c.id::text, c.organiser_id::text, c.name, c.description, c.metric, c.time_zone, c.starts_at, c.ends_at,
	c.max_participants, c.prize_pool_minor::float8 as prize_pool_minor, c.currency, c.payout_bps, c.status,
	c.frozen_at, c.created_at,
	(select count(*)::int from competition_participants p where p.competition_id = c.id) as participants,
	exists (select 1 from competition_participants p where p.competition_id = c.id and p.user_id = ${viewer}) as joined`;

export async function insertCompetition(
	sql: Queryable,
	organiserId: string,
	f: CompetitionFields,
): Promise<string> {
	const [row] = await sql<{ id: string }[]>`
		insert into competitions ${sql({ ...f, organiser_id: organiserId } as Record<string, unknown>)}
		returning id::text`;
	return row!.id;
}

export async function findCompetition(
	sql: Queryable,
	id: string,
	viewer: string,
	lock = false,
): Promise<CompetitionRow | undefined> {
	const [row] = await sql<CompetitionRow[]>`
		select ${columns(sql, viewer)} from competitions c where c.id = ${id} ${lock ? sql`for update` : sql``}`;
	return row;
}

/** Visible to `viewer`: not drafts of others. Keyset by (created_at, id). */
export function listCompetitions(
	sql: Queryable,
	viewer: string,
	q: { mine: boolean; limit: number; after?: { createdAt: Date; id: string } },
): Promise<CompetitionRow[]> {
	return sql<CompetitionRow[]>`
		select ${columns(sql, viewer)} from competitions c
		where (c.status <> 'draft' or c.organiser_id = ${viewer})
		  ${q.mine ? sql`and (c.organiser_id = ${viewer} or exists (select 1 from competition_participants p where p.competition_id = c.id and p.user_id = ${viewer}))` : sql``}
		  ${q.after ? sql`and (c.created_at, c.id) > (${q.after.createdAt}, ${q.after.id}::uuid)` : sql``}
		order by c.created_at, c.id limit ${q.limit + 1}`;
}

export async function updateCompetition(sql: Queryable, id: string, f: CompetitionFields): Promise<void> {
	if (Object.keys(f).length === 0) return;
	await sql`update competitions set ${sql(f as Record<string, unknown>)} where id = ${id}`;
}

export async function deleteCompetition(sql: Queryable, id: string): Promise<void> {
	await sql`delete from competitions where id = ${id}`;
}

export async function audit(
	sql: Queryable,
	competitionId: string,
	actorId: string | null,
	action: string,
	details: Record<string, unknown> = {},
): Promise<void> {
	await sql`insert into competition_audit (competition_id, actor_id, action, details)
		values (${competitionId}, ${actorId}, ${action}, ${sql.json(details as never)})`;
}
