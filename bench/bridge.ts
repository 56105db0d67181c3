/**
 * Notify bridge: commit-to-signal latency at a steady write rate against its
 * floor, and the drain rate of a queued backlog. Real PostgreSQL, Temporal
 * dev server and a worker running the event actors (embedded, ephemeral, as
 * in tests).
 *
 * Latency = time from the change's commit (the writer notes
 * `performance.now()` right after its transaction commits, keyed by outbox
 * id) to the moment `signalWithStart` for that change resolved.
 *
 * Floor = the same writes with no bridge: the writer itself calls
 * `signalWithStart` for each change the moment it committed (same workflow
 * type, id, signal and payload shape, same rate, as many calls in flight as
 * the rate makes), against the same dev server and worker. It is what a
 * bridge with zero overhead would achieve. Each rate runs floor then bridge.
 *
 * Both worker placements are measured: in this process (as tests run it) and
 * as its own `bun src/main.ts worker` process (as production runs it).
 *
 * Knobs: BENCH_SECONDS (per rate and phase, default 8), BENCH_RATES (default
 * "200,500"), BENCH_BACKLOG (default 10000), BENCH_EVENTS (entities, default
 * 200), BENCH_WORKERS ("inline,process" by default).
 */

import { resolveInfra } from "../src/app/infra.ts";
import { migrate } from "../src/app/migrate.ts";
import { startWorker } from "../src/app/worker.ts";
import { startBridge } from "../src/bridge/bridge.ts";
import { loadRoutes, routeKey } from "../src/bridge/outbox.ts";
import { loadConfig } from "../src/config.ts";
import { createSql, type Sql } from "../src/infra/db/sql.ts";
import { createLogger } from "../src/infra/log.ts";
import { connectTemporalClient } from "../src/infra/temporal/client.ts";
import { statsQuery } from "../workflows/kit/actor.ts";
import type { Change } from "../workflows/kit/change.ts";
import {
	BUN,
	type Child,
	cpuSeconds,
	fmt,
	knob,
	machine,
	spawnChild,
	stopChild,
	summary,
} from "./lib/proc.ts";

const seconds = knob("BENCH_SECONDS", 8);
const rates = (process.env.BENCH_RATES ?? "200,500").split(",").map(Number);
const backlog = knob("BENCH_BACKLOG", 10_000);
const entities = knob("BENCH_EVENTS", 200);
const placements = (process.env.BENCH_WORKERS ?? "inline,process").split(",") as Array<"inline" | "process">;
const log = createLogger("warn");
/** One task queue for every phase: the actors started in the first keep it. */
const TASK_QUEUE = `bench-bridge-${process.pid}`;

const config = loadConfig({
	...process.env,
	HERALD_ENV: "test",
	HERALD_DATA_DIR: ".herald/bench",
	LOG_LEVEL: "warn",
});
const infra = await resolveInfra(config, { embedded: true, ephemeral: true, log });
const sql = createSql(infra.databaseUrl, { max: 12 });
const temporal = await connectTemporalClient({ address: infra.temporalAddress, namespace: "default" });

const pct = (xs: number[], p: number) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const figures = (xs: number[]) => ({ p50: pct(xs, 50), p99: pct(xs, 99), max: pct(xs, 100) });
const ms = (n: number) => fmt(n, 1);

/** Writes `rate`/s for `seconds`: one UPDATE per transaction, round-robin over the events. */
async function write(
	ids: string[],
	rate: number,
	onCommit: (outboxId: number, eventId: string, at: number) => void,
): Promise<number> {
	const total = rate * seconds;
	const start = performance.now();
	const writes: Promise<void>[] = [];
	for (let i = 0; i < total; i++) {
		const due = start + (i * 1000) / rate;
		const wait = due - performance.now();
		if (wait > 1) await Bun.sleep(wait);
		const eventId = ids[i % ids.length]!;
		writes.push(
			sql
				.begin(async (tx) => {
					await tx`update events set title = ${`t${i}`} where id = ${eventId}`;
					const [row] = await tx<{ id: string }[]>`
						select currval(pg_get_serial_sequence('outbox', 'id'))::text as id`;
					return Number(row!.id);
				})
				.then((id) => onCommit(id, eventId, performance.now())),
		);
	}
	await Promise.all(writes);
	return total / ((performance.now() - start) / 1000);
}

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!done() && Date.now() < deadline) await Bun.sleep(20);
}

/** Until every actor has taken in its event's last change (so one phase's backlog never runs into the next). */
async function actorsCaughtUp(ids: string[], prefix: string): Promise<void> {
	const last = new Map(
		(
			await sql<{ entity_key: string; id: string }[]>`
				select entity_key, max(id)::text as id from outbox where entity_key = any(${ids}) group by entity_key`
		).map((r) => [r.entity_key, Number(r.id)]),
	);
	const deadline = Date.now() + 120_000;
	let behind = ids;
	while (behind.length > 0 && Date.now() < deadline) {
		const states = await Promise.all(
			behind.map((id) =>
				temporal.client.workflow
					.getHandle(`${prefix}${id}`)
					.query(statsQuery)
					.then((s) => s.lastOutboxId >= (last.get(id) ?? 0))
					.catch((e) => {
						if (process.env.BENCH_DEBUG) console.error(String(e));
						return false;
					}),
			),
		);
		behind = behind.filter((_, i) => !states[i]);
		if (behind.length > 0) await Bun.sleep(100);
	}
	if (behind.length > 0) throw new Error(`${behind.length} actors still behind after 120 s`);
}

interface Run {
	placement: string;
	rate: number;
	floor: ReturnType<typeof figures>;
	bridge: ReturnType<typeof figures>;
	achieved: number;
	measured: string;
}

async function measurePlacement(placement: "inline" | "process", ids: string[]): Promise<Run[]> {
	const taskQueue = TASK_QUEUE;
	let inline: Awaited<ReturnType<typeof startWorker>> | undefined;
	let child: Child | undefined;
	if (placement === "inline")
		inline = await startWorker({
			address: infra.temporalAddress,
			namespace: "default",
			taskQueue,
			deps: { sql },
			log,
		});
	else {
		child = spawnChild([BUN, "src/main.ts", "worker"], {
			...process.env,
			DATABASE_URL: infra.databaseUrl,
			TEMPORAL_ADDRESS: infra.temporalAddress,
			TEMPORAL_TASK_QUEUE: taskQueue,
			UPSTASH_REDIS_REST_URL: infra.redisRestUrl,
			UPSTASH_REDIS_REST_TOKEN: infra.redisRestToken,
			LOG_LEVEL: "info",
		});
		await child.waitForLine(/"msg":"ready"/, 60_000);
	}
	const runs: Run[] = [];
	try {
		const routes = await loadRoutes(sql);
		const route = routes.get(routeKey("events", "UPDATE"))![0]!;
		// The actors exist before anything is measured: a first change to every event, delivered.
		const bridge0 = await startBridge({ sql, temporal: temporal.client, taskQueue, log });
		await sql`update events set title = 'warm' where id = any(${ids})`;
		await bridge0.drain();
		await bridge0.stop();
		await actorsCaughtUp(ids, route.workflowIdPrefix);

		for (const rate of rates) {
			// Floor: the writer signals each change itself, at once.
			const floor: number[] = [];
			const signals: Promise<void>[] = [];
			await write(ids, rate, (outboxId, eventId, at) => {
				const change: Change = { outboxId, table: "events", operation: "UPDATE", rowId: eventId };
				signals.push(
					temporal.client.workflow
						.signalWithStart(route.workflowType, {
							workflowId: `${route.workflowIdPrefix}${eventId}`,
							taskQueue,
							args: [{ entityKey: eventId }],
							signal: route.signalName,
							signalArgs: [[change]],
						})
						.then(() => {
							floor.push(performance.now() - at);
						}),
				);
			});
			await Promise.all(signals);
			await sql`update outbox set delivered_at = now() where delivered_at is null`;
			await actorsCaughtUp(ids, route.workflowIdPrefix);

			// Bridge: the same writes, delivered by the bridge.
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
			const achieved = await write(ids, rate, (outboxId, _eventId, at) => {
				committedAt.set(outboxId, at);
			});
			await until(() => latencies.length >= rate * seconds, 30_000);
			await bridge.stop();
			await actorsCaughtUp(ids, route.workflowIdPrefix);
			const run: Run = {
				placement,
				rate,
				floor: figures(floor),
				bridge: figures(latencies),
				achieved,
				measured: `${latencies.length}/${rate * seconds}`,
			};
			runs.push(run);
			console.log(line(run));
		}
	} finally {
		await inline?.shutdown();
		if (child) await stopChild(child, 20_000);
	}
	return runs;
}

const line = (r: Run) =>
	`bridge @ ${r.rate}/s, worker ${r.placement === "inline" ? "in the bench process" : "in its own process"} ` +
	`(achieved ${fmt(r.achieved)}/s, ${r.measured} measured): ` +
	`floor p50 ${ms(r.floor.p50)} / p99 ${ms(r.floor.p99)} ms; bridge p50 ${ms(r.bridge.p50)} / p99 ${ms(r.bridge.p99)} / max ${ms(r.bridge.max)} ms; ` +
	`added p50 +${ms(r.bridge.p50 - r.floor.p50)} ms (goal ≤ 10), p99 +${ms(r.bridge.p99 - r.floor.p99)} ms (goal ≤ 25): ` +
	`${r.bridge.p50 - r.floor.p50 <= 10 && r.bridge.p99 - r.floor.p99 <= 25 ? "MET" : "NOT MET"}`;

async function drainRate(ids: string[]): Promise<string> {
	const taskQueue = TASK_QUEUE;
	const worker = await startWorker({
		address: infra.temporalAddress,
		namespace: "default",
		taskQueue,
		deps: { sql },
		log,
	});
	try {
		// Queued while no bridge runs, then one bridge drains it. One UPDATE changes each row once.
		for (let round = 0; round < Math.ceil(backlog / entities); round++)
			await sql`update events set title = ${`backlog ${round}`} where id = any(${ids})`;
		const pending = await pendingCount(sql);
		const t0 = performance.now();
		const cpu0 = cpuSeconds(process.pid);
		const drainer = await startBridge({ sql, temporal: temporal.client, taskQueue, log });
		while ((await sql`select 1 from outbox where delivered_at is null limit 1`).length > 0)
			await Bun.sleep(50);
		const drainSeconds = (performance.now() - t0) / 1000;
		await drainer.stop();
		return (
			`bridge drain: ${pending} queued changes over ${entities} entities delivered in ${fmt(drainSeconds, 2)} s = ` +
			`${fmt(pending / drainSeconds)} changes/s (one bridge; worker in the bench process; bench process CPU ${fmt(cpuSeconds(process.pid) - cpu0, 1)} s)`
		);
	} finally {
		await worker.shutdown();
	}
}

async function pendingCount(db: Sql): Promise<number> {
	const [row] = await db<{ n: number }[]>`select count(*)::int as n from outbox where delivered_at is null`;
	return row!.n;
}

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
	await sql`update outbox set delivered_at = now() where delivered_at is null`;

	const lines: string[] = [];
	for (const placement of placements)
		for (const run of await measurePlacement(placement, ids)) lines.push(line(run));
	lines.push(await drainRate(ids));
	console.log(lines.at(-1));
	const how =
		`(${machine()}; ${seconds} s per rate and phase, ${entities} events; bridge and writer in the bench process; ` +
		"embedded Postgres + Temporal dev server)";
	await summary([...lines, `  measured: ${how}`]);
} finally {
	await temporal.close();
	await sql.end();
	await infra.stop();
}
