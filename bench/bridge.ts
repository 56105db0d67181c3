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
 * bridge with zero overhead would achieve. Each rate runs floor then bridge;
 * between phases every actor catches up, so one phase's backlog never runs
 * into the next.
 *
 * Both worker placements are measured: in this process (as tests run it) and
 * as its own `bun src/main.ts worker` process (as production runs it).
 *
 * Knobs: BENCH_SECONDS (per rate and phase, default 8), BENCH_RATES (default
 * "200,500"), BENCH_BACKLOG (default 10000), BENCH_EVENTS (entities, default
 * 200), BENCH_WORKERS ("inline,process" by default).
 */
import { migrate } from "../src/app/migrate.ts";
import { startWorker } from "../src/app/worker.ts";
import { startBridge } from "../src/bridge/bridge.ts";
import { loadRoutes, routeKey } from "../src/bridge/outbox.ts";
import type { Change } from "../workflows/kit/change.ts";
import {
	actorsCaughtUp,
	embeddedServices,
	outboxEmpty,
	pct,
	spawnWorker,
	steadyUpdates,
} from "./lib/actors.ts";
import { type Child, cpuSeconds, fmt, knob, machine, stopChild, summary } from "./lib/proc.ts";

const seconds = knob("BENCH_SECONDS", 8);
const rates = (process.env.BENCH_RATES ?? "200,500").split(",").map(Number);
const backlog = knob("BENCH_BACKLOG", 10_000);
const entities = knob("BENCH_EVENTS", 200);
const placements = (process.env.BENCH_WORKERS ?? "inline,process").split(",") as Array<"inline" | "process">;
/** One task queue for every phase: the actors started in the first keep it. */
const TASK_QUEUE = `bench-bridge-${process.pid}`;

const { infra, sql, temporal, log, stop } = await embeddedServices(12);

const figures = (xs: number[]) => ({ p50: pct(xs, 50), p99: pct(xs, 99), max: pct(xs, 100) });
const ms = (n: number) => fmt(n, 1);

async function caughtUp(ids: string[]): Promise<void> {
	if (!(await actorsCaughtUp(sql, temporal, ids, 120_000)))
		throw new Error("actors still behind after 120 s");
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
	let inline: Awaited<ReturnType<typeof startWorker>> | undefined;
	let child: Child | undefined;
	if (placement === "inline")
		inline = await startWorker({
			address: infra.temporalAddress,
			namespace: "default",
			taskQueue: TASK_QUEUE,
			deps: { sql },
			log,
		});
	else child = await spawnWorker(infra, TASK_QUEUE);
	const runs: Run[] = [];
	const eventFor = (i: number) => ids[i % ids.length]!;
	try {
		const route = (await loadRoutes(sql)).get(routeKey("events", "UPDATE"))![0]!;
		// The actors exist and are idle before anything is measured.
		const warm = await startBridge({ sql, temporal, taskQueue: TASK_QUEUE, log });
		await sql`update events set title = 'warm' where id = any(${ids})`;
		await warm.drain();
		await warm.stop();
		await caughtUp(ids);

		for (const rate of rates) {
			// Floor: the writer signals each change itself, at once.
			const floor: number[] = [];
			const signals: Promise<void>[] = [];
			await steadyUpdates(sql, rate, seconds, eventFor, (outboxId, eventId, at) => {
				const change: Change = { outboxId, table: "events", operation: "UPDATE", rowId: eventId };
				signals.push(
					temporal.workflow
						.signalWithStart(route.workflowType, {
							workflowId: `${route.workflowIdPrefix}${eventId}`,
							taskQueue: TASK_QUEUE,
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
			await caughtUp(ids);

			// Bridge: the same writes, delivered by the bridge.
			const committedAt = new Map<number, number>();
			const latencies: number[] = [];
			const bridge = await startBridge({
				sql,
				temporal,
				taskQueue: TASK_QUEUE,
				log,
				onDelivered: (row) => {
					const t = committedAt.get(Number(row.id));
					if (t !== undefined) latencies.push(performance.now() - t);
				},
			});
			const achieved = await steadyUpdates(sql, rate, seconds, eventFor, (outboxId, _eventId, at) => {
				committedAt.set(outboxId, at);
			});
			const deadline = Date.now() + 30_000;
			while (latencies.length < rate * seconds && Date.now() < deadline) await Bun.sleep(20);
			await bridge.stop();
			await caughtUp(ids);
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
	`added p50 ${ms(r.bridge.p50 - r.floor.p50)} ms (goal ≤ 10), p99 ${ms(r.bridge.p99 - r.floor.p99)} ms (goal ≤ 25): ` +
	`${r.bridge.p50 - r.floor.p50 <= 10 && r.bridge.p99 - r.floor.p99 <= 25 ? "MET" : "NOT MET"}`;

async function drainRate(ids: string[]): Promise<string> {
	const worker = await startWorker({
		address: infra.temporalAddress,
		namespace: "default",
		taskQueue: TASK_QUEUE,
		deps: { sql },
		log,
	});
	try {
		// Queued while no bridge runs, then one bridge drains it. One UPDATE changes each row once.
		for (let round = 0; round < Math.ceil(backlog / entities); round++)
			await sql`update events set title = ${`backlog ${round}`} where id = any(${ids})`;
		const [{ pending }] = (await sql`
			select count(*)::int as pending from outbox where delivered_at is null`) as unknown as [
			{ pending: number },
		];
		const t0 = performance.now();
		const cpu0 = cpuSeconds(process.pid);
		const drainer = await startBridge({ sql, temporal, taskQueue: TASK_QUEUE, log });
		await outboxEmpty(sql);
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
	await stop();
}
