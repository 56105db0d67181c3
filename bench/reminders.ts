/**
 * Reminders as durable timers: BENCH_REMINDERS (default 10,000) active
 * one-off reminders due over BENCH_SPREAD_SECONDS (default 180) on ONE
 * worker (`bun src/main.ts worker`, a child process, so its RSS is its own);
 * the notify bridge runs in this process. Real PostgreSQL, Temporal dev
 * server and Redis gateway, embedded and ephemeral as in tests.
 *
 * Rows are inserted in one statement; the bridge starts one actor per row
 * (`reminder:<id>`), each plans in its activity and sleeps on a timer.
 * Lateness = the notification's `created_at` (PostgreSQL's clock, when the
 * firing was recorded) minus the firing's scheduled instant. Also: how long
 * until every actor had planned, the worker's RSS (sampled each second: peak
 * and at the end), and Temporal history events per reminder (from a sample
 * of finished actors). Baseline from the same run: BENCH_BASELINE (default
 * 100) reminders first, on the same worker, at light load.
 *
 * Knobs: BENCH_REMINDERS, BENCH_SPREAD_SECONDS, BENCH_LEAD_SECONDS (time from
 * insert to the first due firing; default: 15 s + 1.5 × n ÷ the baseline's
 * actor start rate, so the actors have all planned before the first is due),
 * BENCH_BASELINE, BENCH_HISTORY_SAMPLE (default 50).
 */
import { migrate } from "../src/app/migrate.ts";
import { type BridgeHandle, startBridge } from "../src/bridge/bridge.ts";
import type { Sql } from "../src/infra/db/sql.ts";
import { embeddedServices, spawnWorker } from "./lib/actors.ts";
import { type Child, fmt, knob, machine, readRss, stopChild, summary } from "./lib/proc.ts";

const count = Math.round(knob("BENCH_REMINDERS", 10_000));
const spreadSeconds = knob("BENCH_SPREAD_SECONDS", 180);
/** Unset: from the baseline's start rate, so every actor has planned before the first firing is due. */
const leadKnob = process.env.BENCH_LEAD_SECONDS ? knob("BENCH_LEAD_SECONDS", 1) : undefined;
const baselineCount = Math.round(knob("BENCH_BASELINE", 100));
const historySample = Math.round(knob("BENCH_HISTORY_SAMPLE", 50));
const { infra, sql, temporal, log, stop } = await embeddedServices(8);
const taskQueue = `bench-reminders-${process.pid}`;
let worker: Child | undefined;
let bridge: BridgeHandle | undefined;
let rssPeak = 0;
let rssTimer: Timer | undefined;
let code = 0;

const pct = (xs: number[], p: number) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

interface Round {
	label: string;
	n: number;
	plannedSeconds: number;
	lateness: number[];
	missing: number;
	ids: string[];
}

/** Inserts `n` reminders due from now + lead over `spread` seconds; waits for every firing. */
async function round(db: Sql, owner: string, label: string, n: number, lead: number, spread: number) {
	const t0 = Date.now();
	const first = Math.ceil((t0 + lead * 1000) / 1000) * 1000;
	const ids = (
		await db<{ id: string }[]>`
			insert into reminders (owner_id, title, local_start, time_zone)
			select ${owner}, ${`${label} `} || g,
				to_timestamp((${first} + floor((g - 1) * ${(spread * 1000) / Math.max(1, n)}::float8)) / 1000.0)
					at time zone 'UTC',
				'UTC'
			from generate_series(1, ${n}) g returning id`
	).map((r) => r.id);
	let plannedAt = 0;
	const deadline = first + spread * 1000 + 120_000;
	for (;;) {
		const [row] = await db<{ planned: number; fired: number }[]>`
			select count(*) filter (where next_fire_at is not null or last_fired_at is not null)::int as planned,
				count(*) filter (where last_fired_at is not null)::int as fired
			from reminders where id = any(${ids})`;
		if (!plannedAt && row!.planned === n) plannedAt = Date.now();
		if (row!.fired === n || Date.now() > deadline) break;
		await Bun.sleep(500);
	}
	const rows = await db<{ late_ms: number }[]>`
		select extract(epoch from (n.created_at - (n.data->>'scheduledAt')::timestamptz)) * 1000 as late_ms
		from notifications n where n.user_id = ${owner} and n.data->>'reminderId' = any(${ids})`;
	const r: Round = {
		label,
		n,
		plannedSeconds: plannedAt ? (plannedAt - t0) / 1000 : Number.NaN,
		lateness: rows.map((x) => Number(x.late_ms)),
		missing: n - rows.length,
		ids,
	};
	const line =
		`${label}: ${n} reminders over ${spread} s — all planned ${fmt(r.plannedSeconds, 1)} s after insert; ` +
		`lateness p50 ${fmt(pct(r.lateness, 50))} ms, p99 ${fmt(pct(r.lateness, 99))} ms, ` +
		`max ${fmt(pct(r.lateness, 100))} ms${r.missing ? `, ${r.missing} NOT FIRED` : ""}`;
	console.log(line);
	return { r, line };
}

try {
	await migrate(sql);
	worker = await spawnWorker(infra, taskQueue);
	const pid = worker.proc.pid;
	rssTimer = setInterval(() => {
		try {
			rssPeak = Math.max(rssPeak, readRss(pid).rssMb);
		} catch {}
	}, 1000);
	const rssIdle = readRss(pid).rssMb;
	bridge = await startBridge({ sql, temporal, taskQueue, log, pollIntervalMs: 5000 });
	const [owner] =
		await sql`insert into users (email, display_name) values ('bench@example.com', 'B') returning id`;
	const lines: string[] = [];
	let startRate = 100; // actors planned per second, before the baseline measured it
	if (baselineCount > 0) {
		const base = await round(sql, owner!.id, "baseline", baselineCount, 5, 20);
		lines.push(base.line);
		if (base.r.plannedSeconds > 0) startRate = baselineCount / base.r.plannedSeconds;
	}
	const leadSeconds = leadKnob ?? Math.ceil(15 + (1.5 * count) / startRate);
	console.log(`lead ${leadSeconds} s (start rate ${fmt(startRate, 1)} actors/s in the baseline)`);
	const main = await round(sql, owner!.id, "load", count, leadSeconds, spreadSeconds);
	lines.push(main.line);
	const { rssMb, hwmMb } = readRss(pid);
	lines.push(
		`worker RSS: ${fmt(rssIdle)} MB idle before the rounds, peak ${fmt(Math.max(rssPeak, hwmMb))} MB, ${fmt(rssMb)} MB at the end`,
	);
	const sample = main.r.ids.slice(0, historySample);
	const events: number[] = [];
	for (const id of sample) {
		const handle = temporal.workflow.getHandle(`reminder:${id}`);
		const history = await handle.fetchHistory().catch(() => undefined);
		if (history?.events) events.push(history.events.length);
	}
	const [delivery] = await sql<{ id: string }[]>`
		select id from notifications where data->>'reminderId' = ${sample[0] ?? ""} limit 1`;
	const deliveryEvents = delivery
		? ((await temporal.workflow.getHandle(`delivery:${delivery.id}`).fetchHistory()).events?.length ?? 0)
		: 0;
	lines.push(
		`history per reminder (one firing, ${events.length} sampled actors): median ${fmt(pct(events, 50))} events, ` +
			`max ${fmt(pct(events, 100))}; plus its notification's delivery workflow: ${deliveryEvents} events`,
	);
	console.log(lines.at(-1));
	console.log(lines.at(-2));
	const goal = pct(main.r.lateness, 99) < 1000 && main.r.missing === 0 ? "met" : "NOT met";
	lines.push(`goal lateness p99 < 1 s at ${count}: ${goal}`);
	await summary([
		...lines,
		`  measured: lateness = notification created_at − scheduled instant; one worker (bun src/main.ts worker, child process); bridge in the bench process; ${machine()}`,
	]);
	console.log(lines.at(-1));
} catch (error) {
	console.error(error);
	code = 1;
} finally {
	if (rssTimer) clearInterval(rssTimer);
	await bridge?.stop().catch(() => {});
	if (worker) await stopChild(worker, 20_000).catch(() => {});
	await stop().catch(() => {});
}
process.exit(code);
