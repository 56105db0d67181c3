/**
 * Ingestion and processing on embedded PostgreSQL (this process: the store
 * paths, no HTTP):
 * - batched ingestion: `insertEvents` in batches of 1,000 (the ingest path's one
 *   transaction under the ingest order lock), against one event per
 *   transaction as the baseline from the same run;
 * - processing: the processor folding those events for 20 triggers of the
 *   type, state + decisions + fires + checkpoint in one transaction per batch
 *   of 1,000, against batches of 1 (one transaction per event) over a
 *   smaller set: what folding the batch first saves.
 */
import { resolveInfra } from "../src/app/infra.ts";
import { migrate } from "../src/app/migrate.ts";
import { loadConfig } from "../src/config.ts";
import { createSql } from "../src/infra/db/sql.ts";
import { createLogger } from "../src/infra/log.ts";
import { insertEvents, type NewEvent } from "../src/triggers/events-repository.ts";
import { startProcessor } from "../src/triggers/processor.ts";
import { DEFAULT_TRIGGER_SETTINGS } from "../src/triggers/settings.ts";
import { insertTrigger } from "../src/triggers/triggers-repository.ts";
import { fmt, knob, machine, summary } from "./lib/proc.ts";

const EVENTS = knob("BENCH_EVENTS", 20_000);
const SINGLE = knob("BENCH_SINGLE_EVENTS", 500);
const log = createLogger("warn");
const config = loadConfig({
	...process.env,
	HERALD_ENV: "test",
	HERALD_DATA_DIR: ".herald/bench",
	LOG_LEVEL: "warn",
});
const infra = await resolveInfra(config, { embedded: true, ephemeral: true, databaseOnly: true, log });
const sql = createSql(infra.databaseUrl, { max: 4 });
try {
	await migrate(sql);
	const [user] = await sql<{ id: string }[]>`
		insert into users (email, password_hash, display_name) values ('bench@example.com', 'x', 'b') returning id`;
	const owner = user!.id;
	const source = async (name: string) => {
		const [row] = await sql<{ id: string; owner_id: string }[]>`
			insert into event_sources (owner_id, name, key_hash, key_prefix)
			values (${owner}, ${name}, ${Buffer.from(crypto.getRandomValues(new Uint8Array(32)))}, 'hik_')
			returning id, owner_id`;
		return row!;
	};
	for (let i = 0; i < 20; i++)
		await insertTrigger(
			sql,
			owner,
			{
				name: `t${i}`,
				eventTypes: ["bench.m"],
				condition: `data.v > ${50 + i}`,
				key: "data.agent",
				clauses: { cooldownSeconds: 1 },
				action: { kind: "webhook", url: "https://example.com/h" },
			},
			true,
		);
	const event = (i: number): NewEvent => ({
		type: "bench.m",
		externalId: `e${i}`,
		occurredAt: null,
		data: JSON.stringify({ v: (i * 37) % 100, agent: `a${i % 25}` }),
	});

	const batched = await source("batched");
	let started = performance.now();
	for (let i = 0; i < EVENTS; i += 1000)
		await insertEvents(
			sql,
			batched,
			Array.from({ length: Math.min(1000, EVENTS - i) }, (_, j) => event(i + j)),
		);
	const batchedSeconds = (performance.now() - started) / 1000;
	const single = await source("single");
	started = performance.now();
	for (let i = 0; i < SINGLE; i++) await insertEvents(sql, single, [event(i)]);
	const singleSeconds = (performance.now() - started) / 1000;

	// Processing: one processor, all partitions; first the batched run over everything…
	const processor = await startProcessor({
		sql,
		log,
		settings: { ...DEFAULT_TRIGGER_SETTINGS, processorBatchSize: 1000 },
		loop: false,
	});
	started = performance.now();
	await processor.pass();
	const foldSeconds = (performance.now() - started) / 1000;
	await processor.stop();
	const [{ n: fires }] = (await sql`select count(*)::int as n from trigger_fires`) as unknown as [
		{ n: number },
	];
	// …then one transaction per event over new events.
	const more = await source("more");
	for (let i = 0; i < SINGLE; i += 1000)
		await insertEvents(
			sql,
			more,
			Array.from({ length: Math.min(1000, SINGLE - i) }, (_, j) => event(EVENTS + i + j)),
		);
	const perEvent = await startProcessor({
		sql,
		log,
		settings: { ...DEFAULT_TRIGGER_SETTINGS, processorBatchSize: 1 },
		loop: false,
	});
	started = performance.now();
	await perEvent.pass();
	const perEventSeconds = (performance.now() - started) / 1000;
	await perEvent.stop();

	const total = EVENTS + SINGLE;
	const lines = [
		"triggers-ingest:",
		`  ingest, batches of 1,000: ${fmt(EVENTS / batchedSeconds)} events/s (${EVENTS} events); baseline one event per transaction: ${fmt(SINGLE / singleSeconds)} events/s (${SINGLE} events)`,
		`  goal batched ingestion ≥ 20,000 events/s: ${EVENTS / batchedSeconds >= 20_000 ? "MET" : "NOT MET"}`,
		`  processing (20 triggers per event, state + decisions + fires + checkpoint per transaction): batches of 1,000: ${fmt(total / foldSeconds)} events/s ` +
			`(${total} events, ${fires} fires); one transaction per event: ${fmt(SINGLE / perEventSeconds)} events/s (${SINGLE} events): ` +
			`${fmt(SINGLE / perEventSeconds > 0 ? total / foldSeconds / (SINGLE / perEventSeconds) : 0, 1)}× for folding the batch first`,
		`  measured with: bun bench/triggers-ingest.ts (BENCH_EVENTS, BENCH_SINGLE_EVENTS), store paths in one process (no HTTP), embedded PostgreSQL; ` +
			`the machine is shared with other work; ${machine()}`,
	];
	console.log(lines.join("\n"));
	await summary(lines);
} finally {
	await sql.end();
	await infra.stop();
}
