/**
 * Ingest → action run started, at a steady ingest rate: embedded PostgreSQL,
 * Temporal and Redis; `bun src/main.ts worker` in its own process; a bridge
 * and a processor in this one; a webhook receiver on loopback. Events are
 * ingested in batches of 100 every 100 ms (1,000 events/s) for
 * BENCH_SECONDS; 5 % match the trigger. Per fire: the action run's start
 * (`action_runs.started_at`, before the deterministic ≤ 1 s spread) minus the
 * event's `received_at`, both from the database clock. Baseline from the
 * same run: ingest → the processor's commit of the fire (`trigger_fires.created_at`).
 */
import type { Client } from "@temporalio/client";
import { temporal as proto } from "@temporalio/proto";
import { migrate } from "../src/app/migrate.ts";
import { startBridge } from "../src/bridge/bridge.ts";
import type { Sql } from "../src/infra/db/sql.ts";
import { insertEvents } from "../src/triggers/events-repository.ts";
import { startProcessor } from "../src/triggers/processor.ts";
import { DEFAULT_TRIGGER_SETTINGS } from "../src/triggers/settings.ts";
import { insertTrigger } from "../src/triggers/triggers-repository.ts";
import { embeddedServices, pct, spawnWorker } from "./lib/actors.ts";
import { cpuSeconds, fmt, knob, machine, pgrep, stopChild, summary } from "./lib/proc.ts";

const SECONDS = knob("BENCH_SECONDS", 10);
const RATE = 1000;
const TASK_QUEUE = "bench-triggers";
process.env.WEBHOOK_ALLOW_PRIVATE = "127.0.0.1";
const services = await embeddedServices(8);
const { sql, temporal, log } = services;
const receiver = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
let worker: Awaited<ReturnType<typeof spawnWorker>> | undefined;
try {
	await migrate(sql);
	worker = await spawnWorker(services.infra, TASK_QUEUE);
	const bridge = await startBridge({ sql, temporal, taskQueue: TASK_QUEUE, log, pollIntervalMs: 1000 });
	const processor = await startProcessor({
		sql,
		log,
		settings: { ...DEFAULT_TRIGGER_SETTINGS, processorPollMs: 200 },
	});
	const [user] = await sql<{ id: string }[]>`
		insert into users (email, password_hash, display_name) values ('lat@example.com', 'x', 'b') returning id`;
	const owner = user!.id;
	const [source] = await sql<{ id: string; owner_id: string }[]>`
		insert into event_sources (owner_id, name, key_hash, key_prefix)
		values (${owner}, 'lat', ${Buffer.from(crypto.getRandomValues(new Uint8Array(32)))}, 'hik_') returning id, owner_id`;
	const trigger = await insertTrigger(
		sql,
		owner,
		{
			name: "lat",
			eventTypes: ["lat.m"],
			condition: "data.v < 5",
			action: {
				kind: "webhook",
				url: `http://127.0.0.1:${receiver.port}/h`,
				secret: "bench-secret-0123456789",
			},
		},
		true,
	);
	const devServerPid = pgrep(`--port ${services.infra.temporalAddress.split(":").at(-1)}`)[0];
	const cpu = () => ({
		bench: cpuSeconds(process.pid),
		worker: cpuSeconds(worker!.proc.pid),
		temporal: devServerPid ? cpuSeconds(devServerPid) : Number.NaN,
	});
	const cpu0 = cpu();
	let n = 0;
	const batches = SECONDS * 10;
	const started = performance.now();
	for (let b = 0; b < batches; b++) {
		const events = Array.from({ length: RATE / 10 }, () => {
			n++;
			return { type: "lat.m", externalId: `e${n}`, occurredAt: null, data: JSON.stringify({ v: n % 100 }) };
		});
		await insertEvents(sql, source!, events);
		const due = started + (b + 1) * 100;
		await Bun.sleep(Math.max(0, due - performance.now()));
	}
	const achieved = n / ((performance.now() - started) / 1000);
	const cpu1 = cpu();
	const expected = Math.floor(n / 100) * 5;
	const deadline = Date.now() + 60_000;
	let rows: { run_ms: number | null; fire_ms: number }[] = [];
	while (Date.now() < deadline) {
		rows = await sql<{ run_ms: number | null; fire_ms: number }[]>`
			select extract(epoch from (r.started_at - e.received_at)) * 1000 as run_ms,
			       extract(epoch from (f.created_at - e.received_at)) * 1000 as fire_ms
			from trigger_fires f join ingested_events e on e.seq = f.event_seq
			left join action_runs r on r.fire_id = f.id
			where f.trigger_id = ${trigger.id}`;
		if (rows.length >= expected && rows.every((r) => r.run_ms !== null)) break;
		await Bun.sleep(250);
	}
	// Until every run has finished too (bounded), for the CPU each run cost in all.
	const finishBy = Date.now() + 30_000;
	let unfinished = Number.NaN;
	while (Date.now() < finishBy) {
		const [row] = await sql<{ unfinished: number }[]>`
			select count(*)::int - count(r.finished_at)::int as unfinished
			from trigger_fires f left join action_runs r on r.fire_id = f.id where f.trigger_id = ${trigger.id}`;
		unfinished = row!.unfinished;
		if (unfinished === 0) break;
		await Bun.sleep(250);
	}
	const cpu2 = cpu();
	const stages = await stageBreakdown(sql, temporal, trigger.id);
	await processor.stop();
	await bridge.stop();
	const runs = rows.flatMap((r) => (r.run_ms === null ? [] : [Number(r.run_ms)]));
	const fires = rows.map((r) => Number(r.fire_ms));
	const p99 = pct(runs, 99);
	const lines = [
		"triggers-latency:",
		`  ingest → action run started: p50 ${fmt(pct(runs, 50))} ms   p99 ${fmt(p99)} ms   max ${fmt(pct(runs, 100))} ms ` +
			`(${runs.length}/${expected} runs; ingest achieved ${fmt(achieved)} events/s for ${SECONDS} s)`,
		`  baseline, ingest → fire committed by the processor: p50 ${fmt(pct(fires, 50))} ms   p99 ${fmt(pct(fires, 99))} ms`,
		`  goal p99 < 1 s: ${p99 < 1000 ? "MET" : "NOT MET"}`,
		...stages,
		`  CPU seconds during the ${SECONDS} s of load: bench process (processor + bridge + ingest) ` +
			`${fmt(cpu1.bench - cpu0.bench, 1)}, worker ${fmt(cpu1.worker - cpu0.worker, 1)}, ` +
			`Temporal dev server ${fmt(cpu1.temporal - cpu0.temporal, 1)}`,
		`  CPU per run, from the first event until every run finished${unfinished === 0 ? "" : ` (${unfinished} still running)`}: ` +
			`worker ${fmt(((cpu2.worker - cpu0.worker) * 1000) / Math.max(1, rows.length), 1)} ms, ` +
			`Temporal dev server ${fmt(((cpu2.temporal - cpu0.temporal) * 1000) / Math.max(1, rows.length), 1)} ms, ` +
			`bench process ${fmt(((cpu2.bench - cpu0.bench) * 1000) / Math.max(1, rows.length), 1)} ms`,
		`  measured with: bun bench/triggers-latency.ts (BENCH_SECONDS); batches of 100 every 100 ms through insertEvents; ` +
			`processor + bridge in the bench process, \`bun src/main.ts worker\` apart; database clock for both ends; ` +
			`the machine is shared with other work; ${machine()}`,
	];
	console.log(lines.join("\n"));
	await summary(lines);
} finally {
	receiver.stop(true);
	if (worker) await stopChild(worker, 20_000);
	await services.stop();
}

/**
 * Where the time goes, per stage, over a sample of the fires: the processor's transaction
 * (event received → fire row, `now()` of the transaction), the bridge (fire row → the run's
 * workflow started, and → the outbox row marked delivered: claim + signalWithStart + mark),
 * Temporal's queue (workflow started → its first workflow task started on a worker, from the
 * run's history: the server's clock, the same host), and the run's start (that task →
 * `action_runs.started_at`). Each figure is p50 / p99 of the stage's own duration.
 */
async function stageBreakdown(sql: Sql, client: Client, triggerId: string): Promise<string[]> {
	const rows = await sql<
		{ fire_key: string; received: Date; fired: Date; delivered: Date | null; run: Date | null }[]
	>`
		select f.fire_key, e.received_at as received, f.created_at as fired, o.delivered_at as delivered,
		       r.started_at as run
		from trigger_fires f join ingested_events e on e.seq = f.event_seq
		left join outbox o on o.table_name = 'trigger_fires' and o.entity_key = f.fire_key
		left join action_runs r on r.fire_id = f.id
		where f.trigger_id = ${triggerId} order by random() limit 100`;
	const d: Record<"commit" | "started" | "delivered" | "queue" | "row", number[]> = {
		commit: [],
		started: [],
		delivered: [],
		queue: [],
		row: [],
	};
	const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
		t ? Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : Number.NaN;
	const T = proto.api.enums.v1.EventType;
	await Promise.all(
		rows.map(async (r) => {
			d.commit.push(r.fired.getTime() - r.received.getTime());
			if (r.delivered) d.delivered.push(r.delivered.getTime() - r.fired.getTime());
			const history = await client.workflow
				.getHandle(`action:${r.fire_key}`)
				.fetchHistory()
				.catch(() => undefined);
			const at = (type: number) => ms(history?.events?.find((e) => e.eventType === type)?.eventTime);
			const started = at(T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
			const task = at(T.EVENT_TYPE_WORKFLOW_TASK_STARTED);
			if (Number.isNaN(started)) return;
			d.started.push(started - r.fired.getTime());
			if (!Number.isNaN(task)) d.queue.push(task - started);
			if (r.run && !Number.isNaN(task)) d.row.push(r.run.getTime() - task);
		}),
	);
	const f = (xs: number[]) => `${fmt(pct(xs, 50))} / ${fmt(pct(xs, 99))} ms`;
	return [
		`  stages, p50 / p99 over ${rows.length} sampled fires:`,
		`    processor: event received → fire row                       ${f(d.commit)}`,
		`    bridge: fire row → run's workflow started                  ${f(d.started)}`,
		`    bridge: fire row → outbox row marked delivered             ${f(d.delivered)}`,
		`    Temporal: workflow started → first workflow task started   ${f(d.queue)}`,
		`    worker: first workflow task started → action_runs.started_at ${f(d.row)}`,
	];
}
