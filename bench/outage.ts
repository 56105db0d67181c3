/**
 * Destination outage: what a flaky webhook target sees, and how fast a
 * backlog drains once it recovers, with Herald's circuit breaker against plain
 * exponential retry. Real PostgreSQL, Temporal dev server and Redis (embedded,
 * ephemeral, as in tests); a real worker in this process with the real
 * delivery activities (webhook sender + destination guard on Redis); every
 * delivery starts through the real `deliverNotification` workflow.
 *
 * The target (Bun.serve on 127.0.0.1) answers 503 (no Retry-After) for
 * BENCH_OUTAGE_SECONDS from its start, then 200. BENCH_DELIVERIES
 * notifications (one webhook channel each, same user) are started evenly over
 * the first 2 s of the outage. Both configurations run in the same process,
 * one after the other, each against a fresh target on a fresh port (so a fresh
 * circuit) and its own task queue and guard prefix:
 *   herald:   BREAKER_FAILURES=5, BREAKER_OPEN_MS=2000;
 *   baseline: the same worker and workflow, the guard built with
 *             failures = 1e9 (the circuit never opens): plain exponential retry.
 * Retry policy for both: initial 200 ms, backoff 2, max interval 5 s, 100 attempts.
 *
 * Knobs: BENCH_OUTAGE_SECONDS (8), BENCH_DELIVERIES (40). Hard stop after 120 s.
 */

import { type Infra, resolveInfra } from "../src/app/infra.ts";
import { migrate } from "../src/app/migrate.ts";
import { startWorker } from "../src/app/worker.ts";
import { insertChannel } from "../src/channels/repository.ts";
import { loadConfig } from "../src/config.ts";
import { createSql, type Sql } from "../src/infra/db/sql.ts";
import { createLogger } from "../src/infra/log.ts";
import { createRedis } from "../src/infra/redis/client.ts";
import { connectTemporalClient, type TemporalClientHandle } from "../src/infra/temporal/client.ts";
import { createNotification } from "../src/notifications/repository.ts";
import { createDestinationGuard, guardSettings } from "../src/outbound/guard.ts";
import { createSenders, senderSettings } from "../src/outbound/senders/index.ts";
import { workflowIds } from "../workflows/kit/ids.ts";
import { fmt, knob, machine, onInterrupt, summary } from "./lib/proc.ts";

const outageSeconds = knob("BENCH_OUTAGE_SECONDS", 8);
const deliveries = Math.round(knob("BENCH_DELIVERIES", 40));
const SPREAD_MS = 2_000;
const HARD_STOP_MS = 120_000;
const log = createLogger("error");

const DELIVERY_ENV = {
	WEBHOOK_ALLOW_PRIVATE: "127.0.0.1",
	WEBHOOK_CONNECT_TIMEOUT_MS: "1000",
	WEBHOOK_TIMEOUT_MS: "3000",
	DELIVERY_RETRY_INITIAL_MS: "200",
	DELIVERY_RETRY_BACKOFF: "2",
	DELIVERY_RETRY_MAX_INTERVAL_MS: "5000",
	DELIVERY_RETRY_MAX_ATTEMPTS: "100",
	BREAKER_FAILURES: "5",
	BREAKER_OPEN_MS: "2000",
};

const config = loadConfig({
	...process.env,
	HERALD_ENV: "test",
	HERALD_DATA_DIR: ".herald/bench",
	LOG_LEVEL: "error",
	...DELIVERY_ENV,
});

interface Result {
	name: string;
	duringOutage: number;
	afterRecovery: number;
	/** ms from recovery to the last `delivered_at`; NaN when not all were delivered. */
	drainMs: number;
	delivered: number;
	attempts: number;
	attemptsByOutcome: string;
}

let infra: Infra | undefined;
let sql: Sql | undefined;
let temporal: TemporalClientHandle | undefined;
const stops: Array<() => Promise<unknown>> = [];

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
	cleaning ??= (async () => {
		for (const stop of stops.reverse()) await stop().catch(() => {});
		await temporal?.close().catch(() => {});
		await sql?.end().catch(() => {});
		await infra?.stop().catch(() => {});
	})();
	return cleaning;
}
onInterrupt(cleanup);
const hardStop = setTimeout(() => {
	console.error(`outage: hard stop after ${HARD_STOP_MS / 1000} s`);
	void cleanup().finally(() => process.exit(1));
}, HARD_STOP_MS);

async function phase(name: string, breakerFailures: number): Promise<Result> {
	if (!infra || !sql || !temporal) throw new Error("infra not started");
	const db = sql;
	const tag = `${name}-${process.pid}`;

	// The guard and senders exactly as a worker builds them, on their own prefix.
	const redis = createRedis({ url: infra.redisRestUrl, token: infra.redisRestToken });
	const senders = createSenders(senderSettings(config.delivery));
	const guard = createDestinationGuard(
		redis,
		{ ...guardSettings(config.delivery, `bench:${tag}:delivery:`), failures: breakerFailures },
		log,
	);
	const taskQueue = `bench-outage-${tag}`;
	const worker = await startWorker({
		address: infra.temporalAddress,
		namespace: "default",
		taskQueue,
		deps: { sql: db, config, outbound: { senders, guard } },
		log,
	});
	const stopWorker = async () => {
		await worker.shutdown();
		await senders.close();
		await guard.dispose();
	};
	stops.push(stopWorker);

	const [user] = await db<{ id: string }[]>`
		insert into users (email, display_name) values (${`${tag}@example.com`}, ${tag}) returning id`;
	const userId = user!.id;

	// The flaky target: 503 until `recoveryAt`, then 200.
	let recoveryAt = Number.POSITIVE_INFINITY;
	let duringOutage = 0;
	let afterRecovery = 0;
	const target = Bun.serve({
		hostname: "127.0.0.1",
		port: 0,
		async fetch(req) {
			await req.arrayBuffer();
			if (Date.now() < recoveryAt) {
				duringOutage++;
				return new Response("down", { status: 503 });
			}
			afterRecovery++;
			return new Response("ok", { status: 200 });
		},
	});
	stops.push(async () => target.stop(true));
	await insertChannel(db, {
		userId,
		kind: "webhook",
		name: "flaky",
		url: `http://127.0.0.1:${target.port}/hook`,
		secret: crypto.randomUUID(),
	});

	const notificationIds: string[] = [];
	for (let i = 0; i < deliveries; i++) {
		const { row } = await createNotification(db, {
			userId,
			kind: "bench",
			title: `outage ${i}`,
			dedupeKey: `${tag}-${i}`,
		});
		notificationIds.push(row.id);
	}

	const outageStart = Date.now();
	recoveryAt = outageStart + outageSeconds * 1000;
	for (const [i, notificationId] of notificationIds.entries()) {
		const wait = outageStart + (i * SPREAD_MS) / deliveries - Date.now();
		if (wait > 1) await Bun.sleep(wait);
		await temporal.client.workflow.start("deliverNotification", {
			workflowId: workflowIds.delivery(notificationId),
			taskQueue,
			args: [{ notificationId }],
		});
	}

	// Done when every delivery is delivered (or failed), bounded by the hard stop.
	const count = async () => {
		const [row] = await db<{ planned: number; done: number; delivered: number; last: number | null }[]>`
			select count(*)::int as planned,
			       count(*) filter (where status <> 'pending')::int as done,
			       count(*) filter (where status = 'delivered')::int as delivered,
			       (extract(epoch from max(delivered_at)) * 1000)::float8 as last
			from deliveries d join notifications n on n.id = d.notification_id
			where n.user_id = ${userId}`;
		return row!;
	};
	let state = await count();
	while (state.planned < deliveries || state.done < deliveries) {
		await Bun.sleep(100);
		state = await count();
	}

	const outcomes = await db<{ outcome: string | null; n: number }[]>`
		select a.outcome, count(*)::int as n
		from delivery_attempts a
		join deliveries d on d.id = a.delivery_id
		join notifications n on n.id = d.notification_id
		where n.user_id = ${userId}
		group by a.outcome order by a.outcome`;
	const attempts = outcomes.reduce((sum, o) => sum + o.n, 0);

	stops.splice(stops.indexOf(stopWorker), 1);
	await stopWorker();
	target.stop(true);

	return {
		name,
		duringOutage,
		afterRecovery,
		drainMs: state.delivered === deliveries && state.last !== null ? state.last - recoveryAt : Number.NaN,
		delivered: state.delivered,
		attempts,
		attemptsByOutcome: outcomes.map((o) => `${o.outcome ?? "in flight"} ${o.n}`).join(", "),
	};
}

try {
	infra = await resolveInfra(config, { embedded: true, ephemeral: true, log });
	sql = createSql(infra.databaseUrl, { max: 12 });
	temporal = await connectTemporalClient({ address: infra.temporalAddress, namespace: "default" });
	await migrate(sql);

	const results: Result[] = [];
	results.push(await phase("herald", config.delivery.breakerFailures));
	// Baseline: the same worker and workflow; the circuit never opens.
	results.push(await phase("baseline", 1e9));

	const lines = results.map(
		(r) =>
			`outage ${r.name.padEnd(8)}: target calls during ${outageSeconds} s outage ${r.duringOutage}, after recovery ${r.afterRecovery}; ` +
			`recovery -> last delivered ${fmt(r.drainMs)} ms; ${r.delivered}/${deliveries} delivered; ` +
			`${r.attempts} attempts (${r.attemptsByOutcome})`,
	);
	for (const line of lines) console.log(line);
	const how =
		`  measured: ${deliveries} deliveries started via deliverNotification over the first ${SPREAD_MS / 1000} s of a ${outageSeconds} s 503 outage (no Retry-After) ` +
		"of a fresh Bun.serve target per configuration; calls counted by the target (before/after its switch to 200); " +
		"drain = max(deliveries.delivered_at) - switch time; attempts = delivery_attempts rows (incl. circuit_open, which never reach the target). " +
		"herald: real worker, senders and Redis guard, BREAKER_FAILURES=5, BREAKER_OPEN_MS=2000; " +
		"baseline: same worker/workflow with the guard's failures = 1e9 (never opens). " +
		`Retry: initial 200 ms, backoff 2, max 5 s, 100 attempts. (${machine()}; worker in this bun process; embedded Postgres + Temporal dev server + Redis)`;
	console.log(how);
	await summary([...lines, how]);
} finally {
	clearTimeout(hardStop);
	await cleanup();
}
