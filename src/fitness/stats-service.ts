/**
 * `GET /api/v1/fitness/stats/:user_id`: a user's counted activity (not
 * deleted, not flagged) per day and per ISO week in their profile time zone
 * (real calendar days: 23 or 25 hours at DST changes), with the overlap rule
 * applied per day, their competitions with score and rank, the best day per
 * metric and their activity streaks within the range. Each competition's own
 * figures (its metric per day, its streaks) use the competition's zone and
 * window, from its start to today or its end. Visible to the user
 * and to anyone who shares a competition with them; anyone else gets 404.
 */
import { Temporal } from "temporal-polyfill";
import { NotFound } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import { scoreRecords } from "./scoring.ts";
import { streaks, zoneDays } from "./zone-days.ts";

const METRICS = [
	["steps", "steps"],
	["distanceM", "distance_m"],
	["activeMinutes", "active_minutes"],
	["calories", "calories"],
] as const;
type Totals = Record<(typeof METRICS)[number][0], number>;

interface RecordRow {
	source: string;
	started_at: Date;
	ended_at: Date;
	steps: number;
	distance_m: number;
	active_minutes: number;
	calories: number;
}

export function createStatsService(deps: { sql: Sql }) {
	const { sql } = deps;

	async function visible(viewer: string, userId: string): Promise<string> {
		const [user] = await sql<{ timezone: string; shared: boolean }[]>`
			select u.timezone,
			       exists (
			         select 1 from competition_participants a join competition_participants b using (competition_id)
			         where a.user_id = ${viewer} and b.user_id = u.id
			       ) or exists (
			         select 1 from competitions c join competition_participants p on p.competition_id = c.id
			         where c.organiser_id = ${viewer} and p.user_id = u.id
			       ) as shared
			from users u where u.id = ${userId}`;
		if (!user || (viewer !== userId && !user.shared)) throw new NotFound("user");
		return user.timezone;
	}

	return {
		async stats(viewer: string, userId: string, q: { days?: number }) {
			const zone = await visible(viewer, userId);
			const count = q.days ?? 30;
			const today = Temporal.Now.plainDateISO(zone);
			const dates = Array.from({ length: count }, (_, i) => today.subtract({ days: count - 1 - i }));
			const startOf = (d: Temporal.PlainDate) => d.toZonedDateTime(zone).epochMilliseconds;
			const from = startOf(dates[0]!);
			const to = startOf(today.add({ days: 1 }));
			const rows = await sql<RecordRow[]>`
				select source, started_at, ended_at, steps::float8 as steps, distance_m::float8 as distance_m,
				       active_minutes::float8 as active_minutes, calories::float8 as calories
				from fitness_records
				where user_id = ${userId} and not deleted and cardinality(flags) = 0
				  and started_at < ${new Date(to)} and ended_at > ${new Date(from)}`;
			const days = dates.map((d) => {
				const start = startOf(d);
				const end = startOf(d.add({ days: 1 }));
				const totals = Object.fromEntries(
					METRICS.map(([name, column]) => [
						name,
						scoreRecords(
							rows.map((r) => ({
								source: r.source,
								startedAtMs: r.started_at.getTime(),
								endedAtMs: r.ended_at.getTime(),
								value: r[column],
							})),
							start,
							end,
						),
					]),
				) as Totals;
				return { date: d.toString(), hours: (end - start) / 3_600_000, ...totals };
			});
			const weeks = new Map<string, Totals & { week: string }>();
			for (const [i, day] of days.entries()) {
				const d = dates[i]!;
				const week = `${d.yearOfWeek}-W${String(d.weekOfYear).padStart(2, "0")}`;
				const w = weeks.get(week) ?? { week, steps: 0, distanceM: 0, activeMinutes: 0, calories: 0 };
				for (const [name] of METRICS) w[name] += day[name];
				weeks.set(week, w);
			}
			const { current, longest } = streaks(days.map((d) => d.steps > 0 || d.activeMinutes > 0));
			const bests = Object.fromEntries(
				METRICS.map(([name]) => {
					const best = days.reduce<(typeof days)[number] | undefined>(
						(b, d) => (d[name] > (b?.[name] ?? 0) ? d : b),
						undefined,
					);
					return [name, best ? { date: best.date, value: best[name] } : null];
				}),
			) as Record<keyof Totals, { date: string; value: number } | null>;
			const joined = await sql<CompetitionRow[]>`
				select c.id::text as "competitionId", c.name, c.metric, c.status, s.score::int as score,
				       c.time_zone, c.starts_at, c.ends_at,
				       (1 + (select count(*) from competition_scores o
				             where o.competition_id = s.competition_id and not o.removed and not o.excluded
				               and (o.score > s.score or (o.score = s.score and o.reached_at < s.reached_at))))::int as rank
				from competition_scores s join competitions c on c.id = s.competition_id
				where s.user_id = ${userId} and not s.removed
				order by c.starts_at desc, c.id`;
			const competitions = await Promise.all(joined.map((c) => competitionDays(sql, userId, c)));
			return {
				userId,
				timeZone: zone,
				days,
				weeks: [...weeks.values()],
				competitions: [...competitions],
				bests,
				streaks: { current, longest },
			};
		},
	};
}

interface CompetitionRow {
	competitionId: string;
	name: string;
	metric: "steps" | "distance_m" | "active_minutes" | "calories";
	status: string;
	score: number;
	rank: number;
	time_zone: string;
	starts_at: Date;
	ends_at: Date;
}

/** A competition's metric per day of its own zone, clipped to its window (up to now), and its streaks. */
async function competitionDays(sql: Sql, userId: string, c: CompetitionRow) {
	const from = c.starts_at.getTime();
	const to = Math.min(c.ends_at.getTime(), Date.now());
	const rows =
		to > from
			? await sql<{ source: string; started_at: Date; ended_at: Date; value: number }[]>`
				select source, started_at, ended_at, ${sql(c.metric)}::float8 as value from fitness_records
				where user_id = ${userId} and not deleted and cardinality(flags) = 0
				  and started_at < ${new Date(to)} and ended_at > ${new Date(from)}`
			: [];
	const records = rows.map((r) => ({
		source: r.source,
		startedAtMs: r.started_at.getTime(),
		endedAtMs: r.ended_at.getTime(),
		value: r.value,
	}));
	const days =
		to > from
			? zoneDays(from, to, c.time_zone).map((d) => ({
					date: d.date,
					hours: (d.endMs - d.startMs) / 3_600_000,
					value: scoreRecords(records, Math.max(d.startMs, from), Math.min(d.endMs, c.ends_at.getTime())),
				}))
			: [];
	return {
		competitionId: c.competitionId,
		name: c.name,
		metric: c.metric,
		status: c.status,
		score: c.score,
		rank: c.rank,
		timeZone: c.time_zone,
		days,
		streaks: streaks(days.map((d) => d.value > 0)),
	};
}
