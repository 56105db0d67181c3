/**
 * What the bridge and scale benchmarks share: embedded services, a worker in
 * its own process, steady writes that note each change's commit time, and a
 * wait until every actor has applied its entity's last change.
 */
import type { Client } from "@temporalio/client";
import { type Infra, resolveInfra } from "../../src/app/infra.ts";
import { loadConfig } from "../../src/config.ts";
import { createSql, type Sql } from "../../src/infra/db/sql.ts";
import { createLogger, type Logger } from "../../src/infra/log.ts";
import { connectTemporalClient } from "../../src/infra/temporal/client.ts";
import { statsQuery } from "../../workflows/kit/actor.ts";
import { BUN, type Child, spawnChild } from "./proc.ts";

export interface BenchServices {
	readonly infra: Infra;
	readonly sql: Sql;
	readonly temporal: Client;
	readonly log: Logger;
	stop(): Promise<void>;
}

/** Embedded PostgreSQL, Temporal dev server and Redis gateway (ephemeral), as the tests run them. */
export async function embeddedServices(poolMax: number): Promise<BenchServices> {
	const log = createLogger("warn");
	const config = loadConfig({
		...process.env,
		HERALD_ENV: "test",
		HERALD_DATA_DIR: ".herald/bench",
		LOG_LEVEL: "warn",
	});
	const infra = await resolveInfra(config, { embedded: true, ephemeral: true, log });
	const sql = createSql(infra.databaseUrl, { max: poolMax });
	const handle = await connectTemporalClient({ address: infra.temporalAddress, namespace: "default" });
	return {
		infra,
		sql,
		temporal: handle.client,
		log,
		async stop() {
			await handle.close();
			await sql.end();
			await infra.stop();
		},
	};
}

/** `bun src/main.ts worker` on these services, ready. */
export async function spawnWorker(infra: Infra, taskQueue: string): Promise<Child> {
	const child = spawnChild([BUN, "src/main.ts", "worker"], {
		...process.env,
		DATABASE_URL: infra.databaseUrl,
		TEMPORAL_ADDRESS: infra.temporalAddress,
		TEMPORAL_TASK_QUEUE: taskQueue,
		UPSTASH_REDIS_REST_URL: infra.redisRestUrl,
		UPSTASH_REDIS_REST_TOKEN: infra.redisRestToken,
		LOG_LEVEL: "info",
		METRICS_PORT: "0", // benches run several roles on one machine
	});
	await child.waitForLine(/"msg":"ready"/, 60_000);
	return child;
}

export const pct = (xs: number[], p: number) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

/**
 * `rate` single-row UPDATEs of events per second for `seconds` (open loop),
 * each in its own transaction; `onCommit` gets the change's outbox id, the
 * event and `performance.now()` right after the commit. Returns the rate achieved.
 */
export async function steadyUpdates(
	sql: Sql,
	rate: number,
	seconds: number,
	eventFor: (i: number) => string,
	onCommit: (outboxId: number, eventId: string, at: number) => void,
): Promise<number> {
	const total = rate * seconds;
	const start = performance.now();
	const writes: Promise<void>[] = [];
	for (let i = 0; i < total; i++) {
		const wait = start + (i * 1000) / rate - performance.now();
		if (wait > 1) await Bun.sleep(wait);
		const eventId = eventFor(i);
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

/** Until every event actor of `ids` has applied its event's last outbox change; false on timeout. */
export async function actorsCaughtUp(
	sql: Sql,
	temporal: Client,
	ids: string[],
	timeoutMs: number,
): Promise<boolean> {
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
					temporal.workflow
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

/** Until the outbox has nothing undelivered. */
export async function outboxEmpty(sql: Sql): Promise<void> {
	while ((await sql`select 1 from outbox where delivered_at is null limit 1`).length > 0) await Bun.sleep(25);
}
