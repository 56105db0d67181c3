/**
 * Notify bridge: commit-to-signal latency at a steady write rate, and the
 * drain rate of a queued backlog. Real PostgreSQL, Temporal dev server and a
 * Bun worker running the event actors, all embedded (ephemeral) as in tests.
 *
 * Latency = time from the change's commit (the writer notes `performance.now()`
 * right after its autocommit UPDATE returns, keyed by outbox id) to the
 * moment `signalWithStart` for that change resolved in the bridge.
 *
 * Knobs: BENCH_SECONDS (per rate, default 10), BENCH_RATES (default "200,500"),
 * BENCH_BACKLOG (default 10000), BENCH_EVENTS (entities, default 200).
 */

import { resolveInfra } from "../src/app/infra.ts";
import { migrate } from "../src/app/migrate.ts";
import { startWorker } from "../src/app/worker.ts";
import { startBridge } from "../src/bridge/bridge.ts";
import { loadConfig } from "../src/config.ts";
import { createSql } from "../src/infra/db/sql.ts";
import { createLogger } from "../src/infra/log.ts";
import { connectTemporalClient } from "../src/infra/temporal/client.ts";
import { fmt, knob, machine, summary } from "./lib/proc.ts";

const seconds = knob("BENCH_SECONDS", 10);
const rates = (process.env.BENCH_RATES ?? "200,500").split(",").map(Number);
const backlog = knob("BENCH_BACKLOG", 10_000);
const entities = knob("BENCH_EVENTS", 200);
const log = createLogger("warn");

const config = loadConfig({
	...process.env,
	HERALD_ENV: "test",
	HERALD_DATA_DIR: ".herald/bench",
	LOG_LEVEL: "warn",
});
const infra = await resolveInfra(config, { embedded: true, ephemeral: true, log });
const sql = createSql(infra.databaseUrl, { max: 12 });
const temporal = await connectTemporalClient({ address: infra.temporalAddress, namespace: "default" });
const taskQueue = `bench-bridge-${process.pid}`;
const worker = await startWorker({
	address: infra.temporalAddress,
	namespace: "default",
	taskQueue,
	deps: { sql },
	log,
});

const pct = (xs: number[], p: number) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

try {
	await migrate(sql);
	const [owner] =
		await sql`insert into users (email, display_name) values ('bench@example.com', 'Bench') returning id`;
	const ids = (
		await sql<{ id: string }[]>`
			insert into events (owner_id, title, starts_at, ends_at, capacity)
			select ${owner!.id}, 'bench ' || g, now() + interval '30 days', now() + interval '31 days', 10
			from generate_series(1, ${entities}) g returning id`
	).map((r) => r.id);

	const committedAt = new Map<number, number>();
	const latencies: number[] = [];
	const bridge = await startBridge({
		sql,
		temporal: temporal.client,
		taskQueue,
		log,
		onDelivered: (row) => {
			const t = committedAt.get(Number(row.id));
			if (t !== undefined) latencies.push(performance.now() - t);
		},
	});
	await bridge.drain(); // the inserts above start every actor first

	const lines: string[] = [];
	for (const rate of rates) {
		latencies.length = 0;
		committedAt.clear();
		const total = rate * seconds;
		const start = performance.now();
		const writes: Promise<void>[] = [];
		for (let i = 0; i < total; i++) {
			const due = start + (i * 1000) / rate;
			const wait = due - performance.now();
			if (wait > 1) await Bun.sleep(wait);
			writes.push(
				sql
					.begin(async (tx) => {
						await tx`update events set title = ${`t${i}`} where id = ${ids[i % ids.length]!}`;
						const [row] = await tx<
							{ id: string }[]
						>`select currval(pg_get_serial_sequence('outbox', 'id'))::text as id`;
						return Number(row!.id);
					})
					.then((id) => {
						committedAt.set(id, performance.now());
					}),
			);
		}
		await Promise.all(writes);
		const deadline = Date.now() + 30_000;
		while (latencies.length < total && Date.now() < deadline) await Bun.sleep(20);
		const achieved = total / ((performance.now() - start) / 1000);
		lines.push(
			`bridge latency @ ${rate}/s (achieved ${fmt(achieved)}/s, ${latencies.length}/${total} measured): ` +
				`p50 ${fmt(pct(latencies, 50), 1)} ms, p99 ${fmt(pct(latencies, 99), 1)} ms, max ${fmt(pct(latencies, 100), 1)} ms`,
		);
		console.log(lines.at(-1));
	}
	await bridge.stop();

	// Backlog: queued while no bridge runs, then one bridge drains it.
	// One UPDATE changes each row once, so one statement per round: `backlog / entities` rounds.
	for (let round = 0; round < Math.ceil(backlog / entities); round++)
		await sql`update events set title = ${`backlog ${round}`} where id = any(${ids})`;
	const [{ n: pending }] = (await sql<{ n: number }[]>`
		select count(*)::int as n from outbox where delivered_at is null`) as unknown as [{ n: number }];
	const t0 = performance.now();
	const drainer = await startBridge({ sql, temporal: temporal.client, taskQueue, log });
	while ((await sql`select 1 from outbox where delivered_at is null limit 1`).length > 0) await Bun.sleep(50);
	const drainSeconds = (performance.now() - t0) / 1000;
	await drainer.stop();
	lines.push(
		`bridge drain: ${pending} queued changes over ${entities} entities delivered in ${fmt(drainSeconds, 2)} s = ${fmt(pending / drainSeconds)} changes/s (one bridge)`,
	);
	console.log(lines.at(-1));
	const how = `(${machine()}; bridge, worker, writer in one bun process; embedded Postgres + Temporal dev server)`;
	await summary([...lines.map((l) => `${l}`), `  measured: ${how}`]);
} finally {
	await worker?.shutdown();
	await temporal.close();
	await sql.end();
	await infra.stop();
}
