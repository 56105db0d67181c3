/**
 * How cost grows, for the notify bridge and the event actor, on one machine:
 *
 * - Backlog: N changes pending in the outbox (1k, 10k, 100k over 1,000
 *   events, written straight into the outbox while no bridge runs), then one
 *   bridge starts: time until all are delivered (drain rate), until every
 *   actor has applied its last change, the commit-to-signal latency of probe
 *   changes written during the drain, and the CPU the bridge (this process),
 *   the worker and the Temporal dev server spent.
 * - Live actors: K event actors running (1k, 10k): time to start them, the
 *   worker's RSS, the dev server's CPU while idle, and the bridge latency of
 *   200 changes/s spread over all K (the worker's workflow cache holds fewer
 *   than 10k, so some signals replay a history).
 *
 * The worker is its own `bun src/main.ts worker` process; the bridge runs in
 * this process (its CPU is this process's). Knobs: BENCH_PENDING (default
 * "1000,10000,100000"), BENCH_ACTORS (default "1000,10000"), BENCH_SECONDS
 * (the steady probe per actor count, default 5).
 */
import { migrate } from "../src/app/migrate.ts";
import { startBridge } from "../src/bridge/bridge.ts";
import {
	actorsCaughtUp,
	embeddedServices,
	outboxEmpty,
	pct,
	spawnWorker,
	steadyUpdates,
} from "./lib/actors.ts";
import { cpuSeconds, fmt, knob, machine, pgrep, readRss, stopChild, summary } from "./lib/proc.ts";

const pendings = (process.env.BENCH_PENDING ?? "1000,10000,100000").split(",").map(Number);
const actorCounts = (process.env.BENCH_ACTORS ?? "1000,10000").split(",").map(Number);
const seconds = knob("BENCH_SECONDS", 5);
const BACKLOG_EVENTS = 1000;
const TASK_QUEUE = `bench-scale-${process.pid}`;

const { infra, sql, temporal, log, stop } = await embeddedServices(10);
const devServerPid = pgrep(`--port ${infra.temporalAddress.split(":").at(-1)}`)[0];
const cpu = (pid: number | undefined) => (pid ? cpuSeconds(pid) : Number.NaN);
const worker = await spawnWorker(infra, TASK_QUEUE);
const caughtUp = (ids: string[]) => actorsCaughtUp(sql, temporal, ids, 300_000);
const randomOf = (ids: string[]) => () => ids[Math.floor(Math.random() * ids.length)]!;

async function createEvents(owner: string, n: number): Promise<string[]> {
	const ids: string[] = [];
	for (let done = 0; done < n; done += 5000) {
		const rows = await sql<{ id: string }[]>`
			insert into events (owner_id, title, starts_at, ends_at, capacity)
			select ${owner}, 'scale ' || g, now() + interval '30 days', now() + interval '31 days', 10
			from generate_series(1, ${Math.min(5000, n - done)}) g returning id`;
		ids.push(...rows.map((r) => r.id));
	}
	return ids;
}

/** A bridge that notes the commit-to-signal latency of the changes in `committed`. */
function measuredBridge(committed: Map<number, number>, latencies: number[]) {
	return startBridge({
		sql,
		temporal,
		taskQueue: TASK_QUEUE,
		log,
		onDelivered: (row) => {
			const t = committed.get(Number(row.id));
			if (t !== undefined) latencies.push(performance.now() - t);
		},
	});
}

/** Delivers what is pending and waits until the actors of `ids` applied it. */
async function settle(ids: string[]): Promise<void> {
	const bridge = await startBridge({ sql, temporal, taskQueue: TASK_QUEUE, log });
	await outboxEmpty(sql);
	await bridge.stop();
	await caughtUp(ids);
}

const lines: string[] = [];
const say = (line: string) => {
	lines.push(line);
	console.log(line);
};

try {
	await migrate(sql);
	const [owner] = await sql<{ id: string }[]>`
		insert into users (email, display_name) values ('scale@example.com', 'Scale') returning id`;
	const backlogIds = await createEvents(owner!.id, BACKLOG_EVENTS);
	await settle(backlogIds); // their actors run before the backlog is queued (an outage of a running system)

	say("backlog (1,000 events; one bridge in this process, worker in its own):");
	for (const n of pendings) {
		// Queued while no bridge runs: straight into the outbox, as a long outage would leave it.
		await sql`
			insert into outbox (table_name, operation, entity_key, row_id)
			select 'events', 'UPDATE', id::text, id from (
				select unnest(${backlogIds}::uuid[]) as id, g from generate_series(1, ${Math.ceil(n / BACKLOG_EVENTS)}) g
			) x order by g`;
		const [{ pending }] =
			(await sql`select count(*)::int as pending from outbox where delivered_at is null`) as unknown as [
				{ pending: number },
			];
		const committed = new Map<number, number>();
		const latencies: number[] = [];
		const c0 = { bench: cpu(process.pid), worker: cpu(worker.proc.pid), dev: cpu(devServerPid) };
		const t0 = performance.now();
		const bridge = await measuredBridge(committed, latencies);
		const probing = steadyUpdates(sql, 50, 2, randomOf(backlogIds), (id, _e, at) => committed.set(id, at));
		await outboxEmpty(sql);
		const drained = (performance.now() - t0) / 1000;
		await probing;
		const applied = await caughtUp(backlogIds);
		const appliedS = (performance.now() - t0) / 1000;
		await bridge.stop();
		const c1 = { bench: cpu(process.pid), worker: cpu(worker.proc.pid), dev: cpu(devServerPid) };
		say(
			`  ${fmt(pending).padStart(7)} pending: drained in ${fmt(drained, 2)} s = ${fmt(pending / drained)} changes/s; ` +
				`every actor applied its last change after ${fmt(appliedS, 2)} s${applied ? "" : " (NOT all within 300 s)"}; ` +
				`probe latency (50/s during the drain) p50 ${fmt(pct(latencies, 50), 1)} ms, p99 ${fmt(pct(latencies, 99), 1)} ms; ` +
				`CPU s bridge+bench ${fmt(c1.bench - c0.bench, 1)}, worker ${fmt(c1.worker - c0.worker, 1)}, dev server ${fmt(c1.dev - c0.dev, 1)}`,
		);
	}

	say("live actors (bridge in this process, worker in its own; 200 changes/s spread over all of them):");
	let live: string[] = [...backlogIds];
	for (const k of actorCounts) {
		const c0 = { worker: cpu(worker.proc.pid), dev: cpu(devServerPid) };
		const t0 = performance.now();
		const added = Math.max(0, k - live.length);
		live = live.concat(await createEvents(owner!.id, added));
		await settle(live);
		const startS = (performance.now() - t0) / 1000;
		const c1 = { worker: cpu(worker.proc.pid), dev: cpu(devServerPid) };
		await Bun.sleep(5000);
		const c2 = { worker: cpu(worker.proc.pid), dev: cpu(devServerPid) };
		const rss = readRss(worker.proc.pid);
		const committed = new Map<number, number>();
		const latencies: number[] = [];
		const bridge = await measuredBridge(committed, latencies);
		await steadyUpdates(sql, 200, seconds, randomOf(live), (id, _e, at) => committed.set(id, at));
		const deadline = Date.now() + 30_000;
		while (latencies.length < committed.size && Date.now() < deadline) await Bun.sleep(20);
		await bridge.stop();
		const rssAfter = readRss(worker.proc.pid);
		say(
			`  ${fmt(live.length).padStart(6)} actors: ${fmt(added)} new started and caught up in ${fmt(startS, 1)} s ` +
				`(worker CPU ${fmt(c1.worker - c0.worker, 1)} s, dev server CPU ${fmt(c1.dev - c0.dev, 1)} s); ` +
				`idle 5 s: worker CPU ${fmt(c2.worker - c1.worker, 2)} s, dev server CPU ${fmt(c2.dev - c1.dev, 2)} s; ` +
				`worker RSS ${fmt(rss.rssMb)} MB (after the probe ${fmt(rssAfter.rssMb)} MB, peak ${fmt(rssAfter.hwmMb)} MB); ` +
				`bridge latency p50 ${fmt(pct(latencies, 50), 1)} ms, p99 ${fmt(pct(latencies, 99), 1)} ms (${latencies.length}/${committed.size})`,
		);
	}
	await summary([
		"scale:",
		...lines.map((l) => `  ${l}`),
		`  measured: ${machine()}; embedded Postgres + Temporal dev server (pid ${devServerPid ?? "?"}, CPU from /proc)`,
	]);
} finally {
	await stopChild(worker, 20_000);
	await stop();
}
