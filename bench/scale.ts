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
import { resolveInfra } from "../src/app/infra.ts";
import { migrate } from "../src/app/migrate.ts";
import { startBridge } from "../src/bridge/bridge.ts";
import { loadConfig } from "../src/config.ts";
import { createSql } from "../src/infra/db/sql.ts";
import { createLogger } from "../src/infra/log.ts";
import { connectTemporalClient } from "../src/infra/temporal/client.ts";
import { statsQuery } from "../workflows/kit/actor.ts";
import {
	BUN,
	cpuSeconds,
	fmt,
	knob,
	machine,
	pgrep,
	readRss,
	spawnChild,
	stopChild,
	summary,
} from "./lib/proc.ts";

const pendings = (process.env.BENCH_PENDING ?? "1000,10000,100000").split(",").map(Number);
const actorCounts = (process.env.BENCH_ACTORS ?? "1000,10000").split(",").map(Number);
const seconds = knob("BENCH_SECONDS", 5);
const BACKLOG_EVENTS = 1000;
const log = createLogger("warn");
const TASK_QUEUE = `bench-scale-${process.pid}`;

const config = loadConfig({
	...process.env,
	HERALD_ENV: "test",
	HERALD_DATA_DIR: ".herald/bench",
	LOG_LEVEL: "warn",
});
const infra = await resolveInfra(config, { embedded: true, ephemeral: true, log });
const sql = createSql(infra.databaseUrl, { max: 10 });
const temporal = await connectTemporalClient({ address: infra.temporalAddress, namespace: "default" });
const devServerPid = pgrep(`--port ${infra.temporalAddress.split(":").at(-1)}`)[0];

const pct = (xs: number[], p: number) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const cpu = (pid: number | undefined) => (pid ? cpuSeconds(pid) : Number.NaN);

const worker = spawnChild([BUN, "src/main.ts", "worker"], {
	...process.env,
	DATABASE_URL: infra.databaseUrl,
	TEMPORAL_ADDRESS: infra.temporalAddress,
	TEMPORAL_TASK_QUEUE: TASK_QUEUE,
	UPSTASH_REDIS_REST_URL: infra.redisRestUrl,
	UPSTASH_REDIS_REST_TOKEN: infra.redisRestToken,
	LOG_LEVEL: "info",
});

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

/** Until every actor of `ids` has applied its entity's last outbox change. */
async function caughtUp(ids: string[], timeoutMs: number): Promise<boolean> {
	const last = new Map(
		(
			await sql<{ entity_key: string; id: string }[]>`
				select entity_key, max(id)::text as id from outbox where entity_key = any(${ids}) group by entity_key`
		).map((r) => [r.entity_key, Number(r.id)]),
	);
	let behind = ids;
	const deadline = Date.now() + timeoutMs;
	while (behind.length > 0 && Date.now() < deadline) {
		const next: string[] = [];
		for (let i = 0; i < behind.length; i += 200) {
			const chunk = behind.slice(i, i + 200);
			const ok = await Promise.all(
				chunk.map((id) =>
					temporal.client.workflow
						.getHandle(`event:${id}`)
						.query(statsQuery)
						.then((s) => s.lastOutboxId >= (last.get(id) ?? 0))
						.catch(() => false),
				),
			);
			chunk.forEach((id, j) => {
				if (!ok[j]) next.push(id);
			});
		}
		behind = next;
		if (behind.length > 0) await Bun.sleep(200);
	}
	return behind.length === 0;
}

/** Writes `rate` changes/s for `seconds` over `ids`; the commit time of each, by outbox id. */
async function probe(
	ids: string[],
	rate: number,
	secs: number,
	committed: Map<number, number>,
): Promise<void> {
	const total = rate * secs;
	const start = performance.now();
	const writes: Promise<void>[] = [];
	for (let i = 0; i < total; i++) {
		const wait = start + (i * 1000) / rate - performance.now();
		if (wait > 1) await Bun.sleep(wait);
		const id = ids[Math.floor(Math.random() * ids.length)]!;
		writes.push(
			sql
				.begin(async (tx) => {
					await tx`update events set title = ${`p${i}`} where id = ${id}`;
					const [row] = await tx<
						{ id: string }[]
					>`select currval(pg_get_serial_sequence('outbox', 'id'))::text as id`;
					return Number(row!.id);
				})
				.then((outboxId) => {
					committed.set(outboxId, performance.now());
				}),
		);
	}
	await Promise.all(writes);
}

const lines: string[] = [];
const say = (line: string) => {
	lines.push(line);
	console.log(line);
};

try {
	await migrate(sql);
	await worker.waitForLine(/"msg":"ready"/, 60_000);
	const [owner] = await sql<{ id: string }[]>`
		insert into users (email, display_name) values ('scale@example.com', 'Scale') returning id`;
	const backlogIds = await createEvents(owner!.id, BACKLOG_EVENTS);
	// Their actors run before the backlog is queued (an outage of a running system).
	const starter = await startBridge({ sql, temporal: temporal.client, taskQueue: TASK_QUEUE, log });
	while ((await sql`select 1 from outbox where delivered_at is null limit 1`).length > 0) await Bun.sleep(50);
	await starter.stop();
	await caughtUp(backlogIds, 300_000);

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
		const bridge = await startBridge({
			sql,
			temporal: temporal.client,
			taskQueue: TASK_QUEUE,
			log,
			onDelivered: (row) => {
				const t = committed.get(Number(row.id));
				if (t !== undefined) latencies.push(performance.now() - t);
			},
		});
		const probing = probe(backlogIds, 50, 2, committed);
		while ((await sql`select 1 from outbox where delivered_at is null limit 1`).length > 0)
			await Bun.sleep(25);
		const drained = (performance.now() - t0) / 1000;
		await probing;
		const applied = await caughtUp(backlogIds, 300_000);
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
		const starter = await startBridge({ sql, temporal: temporal.client, taskQueue: TASK_QUEUE, log });
		while ((await sql`select 1 from outbox where delivered_at is null limit 1`).length > 0)
			await Bun.sleep(50);
		await starter.stop();
		await caughtUp(live, 300_000);
		const startS = (performance.now() - t0) / 1000;
		const c1 = { worker: cpu(worker.proc.pid), dev: cpu(devServerPid) };
		await Bun.sleep(5000);
		const c2 = { worker: cpu(worker.proc.pid), dev: cpu(devServerPid) };
		const rss = readRss(worker.proc.pid);
		const committed = new Map<number, number>();
		const latencies: number[] = [];
		const bridge = await startBridge({
			sql,
			temporal: temporal.client,
			taskQueue: TASK_QUEUE,
			log,
			onDelivered: (row) => {
				const t = committed.get(Number(row.id));
				if (t !== undefined) latencies.push(performance.now() - t);
			},
		});
		await probe(live, 200, seconds, committed);
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
	await temporal.close();
	await sql.end();
	await infra.stop();
}
