/**
 * Ingestion and processing on embedded services:
 * - batched ingestion, store path (this process): `insertEvents` in batches of
 *   1,000 (one statement, herald_ingest_events, under the ingest order lock) by
 *   1, 2 and 4 concurrent clients (one source each); same-run baselines: one
 *   event per call, and the previous shape of the path (BEGIN, the lock, the
 *   INSERT, COMMIT: four round trips, the lock held across three of them);
 * - batched ingestion, end to end: `POST /api/v1/ingest` with batches of
 *   1,000 to a real `api` process (key auth, rate limiter on Redis, per-item
 *   checks, the response) by 1, 2 and 4 concurrent clients, one key each
 *   (INGEST_EVENTS_PER_MINUTE raised so the limiter never refuses);
 * - processing: the processor folding those events for 20 triggers of the
 *   type, state + decisions + fires + checkpoint in one transaction per batch
 *   of 1,000, against batches of 1 (one transaction per event) over a
 *   smaller set: what folding the batch first saves.
 */
import type { Sql } from "../src/infra/db/sql.ts";
import { createSql } from "../src/infra/db/sql.ts";
import { createLogger } from "../src/infra/log.ts";
import { insertEvents, type NewEvent } from "../src/triggers/events-repository.ts";
import { startProcessor } from "../src/triggers/processor.ts";
import { DEFAULT_TRIGGER_SETTINGS } from "../src/triggers/settings.ts";
import { insertTrigger } from "../src/triggers/triggers-repository.ts";
import { startApiOnEmbedded } from "./lib/api.ts";
import { fmt, knob, machine, summary } from "./lib/proc.ts";

const EVENTS = knob("BENCH_EVENTS", 20_000);
const SINGLE = knob("BENCH_SINGLE_EVENTS", 500);
const HTTP_BATCHES = knob("BENCH_HTTP_BATCHES", 20);
const log = createLogger("warn");
const server = await startApiOnEmbedded("triggers-ingest", {
	env: { AUTH_LIMIT_PER_ADDRESS: "100000", INGEST_EVENTS_PER_MINUTE: "1000000000" },
});
const sql = createSql(server.databaseUrl, { max: 8 });
/** The ingest path before migration 00015: a client-side transaction of four statements. */
const insertAsBefore = (pool: Sql, source: { id: string; owner_id: string }, events: readonly NewEvent[]) =>
	pool.begin(async (tx) => {
		await tx`select herald_order_lock('ingest')`;
		const ext = events.map((e) => e.externalId);
		const inserted = await tx<{ id: string; external_id: string }[]>`
			insert into ingested_events (source_id, owner_id, type, external_id, occurred_at, data)
			select ${source.id}, ${source.owner_id}, e.type, e.external_id, coalesce(e.occurred_at, clock_timestamp()),
			       e.data::jsonb
			from unnest(${events.map((e) => e.type)}::text[], ${ext}::text[],
			            ${events.map((e) => e.occurredAt) as string[]}::timestamptz[], ${events.map((e) => e.data)}::text[])
			     with ordinality as e(type, external_id, occurred_at, data, n)
			order by e.n
			on conflict (source_id, external_id) do nothing
			returning id, external_id`;
		return inserted.length;
	});
try {
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

	let next = 0;
	const batches = (n: number) =>
		Array.from({ length: Math.ceil(n / 1000) }, (_, b) =>
			Array.from({ length: Math.min(1000, n - b * 1000) }, () => event(next++)),
		);
	/** events/s of `clients` concurrent clients, each with its own source, over `perClient` events each. */
	const concurrent = async (
		clients: number,
		perClient: number,
		insert: (src: { id: string; owner_id: string }, events: NewEvent[]) => Promise<unknown>,
	) => {
		const sources = await Promise.all(
			Array.from({ length: clients }, (_, c) => source(`c${clients}-${c}-${next}`)),
		);
		const work = sources.map(() => batches(perClient));
		const t0 = performance.now();
		await Promise.all(
			sources.map(async (src, c) => {
				for (const b of work[c]!) await insert(src, b);
			}),
		);
		return (clients * perClient) / ((performance.now() - t0) / 1000);
	};
	await concurrent(1, 5000, (src, b) => insertEvents(sql, src, b)); // warm-up, not reported
	const store: Record<number, number> = {};
	for (const clients of [1, 2, 4])
		store[clients] = await concurrent(clients, EVENTS / clients, (src, b) => insertEvents(sql, src, b));
	const before: Record<number, number> = {};
	for (const clients of [1, 4])
		before[clients] = await concurrent(clients, EVENTS / clients, (src, b) => insertAsBefore(sql, src, b));
	const single = await source("single");
	let started = performance.now();
	for (let i = 0; i < SINGLE; i++) await insertEvents(sql, single, [event(next++)]);
	const singleSeconds = (performance.now() - started) / 1000;

	// End to end: POST /api/v1/ingest to the api process.
	const call = async (path: string, auth: string | undefined, body: string) => {
		const res = await fetch(`${server.base}${path}`, {
			method: "POST",
			headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
			body,
		});
		if (!res.ok) throw new Error(`${path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
		return res.json() as Promise<any>;
	};
	const token = (
		await call(
			"/api/v1/auth/register",
			undefined,
			JSON.stringify({ email: "http@bench.example", password: "benchmark password", displayName: "h" }),
		)
	).accessToken as string;
	const httpBody = () =>
		JSON.stringify({
			events: Array.from({ length: 1000 }, () => {
				const i = next++;
				return { type: "bench.m", externalId: `e${i}`, data: { v: (i * 37) % 100, agent: `a${i % 25}` } };
			}),
		});
	const overHttp = async (clients: number) => {
		const keys = await Promise.all(
			Array.from(
				{ length: clients },
				async (_, c) =>
					(await call("/api/v1/sources", token, JSON.stringify({ name: `h${clients}-${c}` }))).key as string,
			),
		);
		const bodies = keys.map(() => Array.from({ length: HTTP_BATCHES }, httpBody));
		const t0 = performance.now();
		await Promise.all(
			keys.map(async (key, c) => {
				for (const body of bodies[c]!) {
					const r = await call("/api/v1/ingest", key, body);
					if (r.accepted !== 1000) throw new Error(`ingest accepted ${r.accepted} of 1000`);
				}
			}),
		);
		return (clients * HTTP_BATCHES * 1000) / ((performance.now() - t0) / 1000);
	};
	await overHttp(1); // warm-up, not reported
	const http: Record<number, number> = {};
	for (const clients of [1, 2, 4]) http[clients] = await overHttp(clients);

	// Processing starts over from EVENTS events of one source (as before the ingest runs grew).
	await sql`delete from ingested_events`;
	const folded = await source("fold");
	for (const b of batches(EVENTS)) await insertEvents(sql, folded, b);

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
			Array.from({ length: Math.min(1000, SINGLE - i) }, () => event(next++)),
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

	const total = EVENTS; // the batched pass folds the EVENTS events; the SINGLE ones come after it
	const by = (r: Record<number, number>) =>
		Object.entries(r)
			.map(([c, v]) => `${c} client${c === "1" ? "" : "s"} ${fmt(v)}`)
			.join(", ");
	const best = Math.max(...Object.values(http));
	const lines = [
		"triggers-ingest:",
		`  ingest, store path (insertEvents), batches of 1,000, events/s: ${by(store)} (${EVENTS} events per run); ` +
			`baselines: the previous four-statement transaction ${by(before)}; one event per call ${fmt(SINGLE / singleSeconds)} (${SINGLE} events)`,
		`  ingest, end to end (POST /api/v1/ingest to the api process), batches of 1,000, events/s: ${by(http)} (${HTTP_BATCHES} batches per client)`,
		`  goal batched ingestion ≥ 20,000 events/s (end to end, best of 1-4 clients): ${best >= 20_000 ? "MET" : "NOT MET"} (${fmt(best)})`,
		`  processing (20 triggers per event, state + decisions + fires + checkpoint per transaction): batches of 1,000: ${fmt(total / foldSeconds)} events/s ` +
			`(${total} events, ${fires} fires); one transaction per event: ${fmt(SINGLE / perEventSeconds)} events/s (${SINGLE} events): ` +
			`${fmt(SINGLE / perEventSeconds > 0 ? total / foldSeconds / (SINGLE / perEventSeconds) : 0, 1)}× for folding the batch first`,
		`  measured with: bun bench/triggers-ingest.ts (BENCH_EVENTS, BENCH_SINGLE_EVENTS, BENCH_HTTP_BATCHES); store paths and the processor in this process, ` +
			`the HTTP client in this process and the api in its own, embedded PostgreSQL, Temporal and Redis; ` +
			`the machine is shared with other work; ${machine()}`,
	];
	console.log(lines.join("\n"));
	await summary(lines);
} finally {
	await sql.end();
	await server.stop();
	server.removeDataDir();
}
