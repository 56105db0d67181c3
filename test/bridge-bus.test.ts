/**
 * The bridge with the event bus on (a real JetStream nats-server): the
 * bridge's no-loss tests again, now also asserting what a consumer of the
 * stream sees — every change exactly once, in commit order per entity — and
 * that an unavailable NATS delays delivery (rows stay pending, health and
 * metrics say so) but loses nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBridge } from "../src/bridge/bridge.ts";
import { createBus, type EventBus } from "../src/bridge/bus.ts";
import { createSql, type Sql } from "../src/infra/db/sql.ts";
import { createLogger } from "../src/infra/log.ts";
import { scrape } from "../src/infra/metrics.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { sumOf } from "./support/metrics.ts";
import { type NatsServer, startNatsServer, streamChanges } from "./support/nats.ts";
import { eventually } from "./support/wait.ts";

const STREAM = "HERALD";
let db: TestDatabase;
let actors: Actors;
let nats: NatsServer;
let owner: string;
const buses: EventBus[] = [];

beforeAll(async () => {
	db = await freshDatabase();
	nats = await startNatsServer();
	actors = await startActors(db.sql, "bridge-bus");
	const [user] =
		await db.sql`insert into users (email, display_name) values ('bus@example.com', 'Bus') returning id`;
	owner = user!.id;
});

afterAll(async () => {
	await Promise.all(buses.map((b) => b.close()));
	await actors?.stop();
	await nats?.dispose();
	await db?.drop();
});

export function bus(url = nats.url): EventBus {
	const b = createBus({
		url,
		stream: STREAM,
		subjectPrefix: "herald",
		duplicateWindowSeconds: 600,
		timeoutMs: 1000,
		log: createLogger("silent"),
	});
	buses.push(b);
	return b;
}

const bridge = (sql: Sql = db.sql, withBus = bus()) =>
	startBridge({
		sql,
		temporal: actors.temporal.client,
		taskQueue: actors.taskQueue,
		log: createLogger("silent"),
		pollIntervalMs: 500,
		bus: withBus,
	});

async function createEvents(n: number): Promise<string[]> {
	const rows = await db.sql<{ id: string }[]>`
		insert into events (owner_id, title, starts_at, ends_at, capacity)
		select ${owner}, 'event ' || g, now() + interval '30 days', now() + interval '30 days 2 hours', 10
		from generate_series(1, ${n}) g returning id`;
	return rows.map((r) => r.id);
}

async function updateEvents(ids: string[], n: number, sql: Sql = db.sql): Promise<void> {
	for (let i = 0; i < n; i++)
		await sql`update events set title = ${`change ${i}`} where id = ${ids[i % ids.length]!}`;
}

const undelivered = async (ids: string[]) => {
	const [row] = await db.sql<{ n: number }[]>`
		select count(*)::int as n from outbox where delivered_at is null and entity_key = any(${ids})`;
	return row!.n;
};

/** The stream holds each entity's outbox changes exactly once, in outbox (commit) order. */
export async function expectStreamHolds(ids: string[]): Promise<void> {
	const seen = (await streamChanges(nats.url, STREAM)).filter((c) => ids.includes(c.entityKey));
	const rows = await db.sql<{ id: string; entity_key: string; table_name: string; operation: string }[]>`
		select id, entity_key, table_name, operation from outbox where entity_key = any(${ids}) order by id`;
	const byEntity = (list: { entity: string; id: number }[]) =>
		Object.fromEntries(ids.map((id) => [id, list.filter((c) => c.entity === id).map((c) => c.id)]));
	expect(byEntity(seen.map((c) => ({ entity: c.entityKey, id: c.outboxId })))).toEqual(
		byEntity(rows.map((r) => ({ entity: r.entity_key, id: Number(r.id) }))),
	);
	const sample = seen.find((c) => c.operation === "UPDATE");
	expect(sample?.table).toBe("events");
}

describe("bridge + JetStream", () => {
	test("1,000 changes written while no bridge runs: delivered, and on the bus once each, in order", async () => {
		const ids = await createEvents(20);
		await updateEvents(ids, 980);
		const b = await bridge();
		try {
			await eventually(async () => (await undelivered(ids)) === 0, {
				what: "backlog drained",
				timeoutMs: 90_000,
			});
			await expectStreamHolds(ids);
		} finally {
			await b.stop();
		}
	}, 150_000);

	test("two bridges at once: every change on the bus exactly once, in order per entity", async () => {
		const ids = await createEvents(10);
		const other = createSql(db.url, { max: 5 });
		const [a, b] = await Promise.all([bridge(), bridge(other)]);
		try {
			const writer = createSql(db.url, { max: 4 });
			await Promise.all([0, 1, 2, 3].map(() => updateEvents(ids, 60, writer)));
			await writer.end();
			await eventually(async () => (await undelivered(ids)) === 0, {
				what: "all delivered",
				timeoutMs: 90_000,
			});
			await expectStreamHolds(ids);
		} finally {
			await Promise.all([a.stop(), b.stop()]);
			await other.end();
		}
	}, 150_000);

	test("NATS down: nothing is marked delivered, the bus reports down; back up: everything, once, in order", async () => {
		const ids = await createEvents(3);
		const shared = bus();
		const b = await bridge(db.sql, shared);
		try {
			await eventually(async () => (await undelivered(ids)) === 0, { what: "first inserts delivered" });
			await nats.stop();
			await eventually(() => !shared.connected, { what: "the bus to notice" });
			const errorsBefore = sumOf(await scrape(), "herald_bus_publishes_total", { outcome: "error" });
			await updateEvents(ids, 30);
			await eventually(
				async () => sumOf(await scrape(), "herald_bus_publishes_total", { outcome: "error" }) > errorsBefore,
				{ what: "failed publishes counted", timeoutMs: 30_000 },
			);
			expect(await undelivered(ids)).toBe(30); // Temporal took the signals; the rows wait for the bus
			expect(sumOf(await scrape(), "herald_bus_connected")).toBe(0);
			await nats.start();
			await eventually(async () => (await undelivered(ids)) === 0, {
				what: "delivered after NATS came back",
				timeoutMs: 60_000,
			});
			expect(shared.connected).toBe(true);
			await expectStreamHolds(ids);
		} finally {
			await b.stop();
		}
	}, 120_000);

	test("the README's 10-line consumer reads every change once", async () => {
		const readme = readFileSync(join(import.meta.dir, "../README.md"), "utf8");
		const code = readme.split("<!-- bus-consumer -->")[1]!.split("```ts\n")[1]!.split("```")[0]!;
		expect(code.trim().split("\n").length).toBeLessThanOrEqual(12);
		const file = join(import.meta.dir, `../.herald/readme-consumer-${process.pid}.ts`);
		writeFileSync(file, code);
		const ids = (
			await db.sql<{ id: string }[]>`select id from outbox where table_name = 'events' order by id`
		).map((r) => Number(r.id));
		const child = Bun.spawn([process.execPath, file], {
			env: { ...process.env, NATS_URL: nats.url },
			stdout: "pipe",
			stderr: "pipe",
		});
		try {
			let out = "";
			const reader = (async () => {
				for await (const chunk of child.stdout) out += new TextDecoder().decode(chunk);
			})();
			const seen = await eventually(
				() => {
					const lines = out.split("\n").filter(Boolean);
					return lines.length >= ids.length ? lines.map((l) => l.split(" ")) : undefined;
				},
				{ what: `${ids.length} changes printed`, timeoutMs: 30_000 },
			);
			const seenIds = seen.map((l) => Number(l[0]));
			expect([...seenIds].sort((a, b) => a - b)).toEqual(ids); // each once
			for (const [, mine] of Map.groupBy(seen, (l) => l[3]!)) {
				const order = mine.map((l) => Number(l[0])); // per entity (an event's row id): commit order
				expect(order).toEqual([...order].sort((a, b) => a - b));
			}
			void reader;
		} finally {
			child.kill();
			await child.exited;
			rmSync(file, { force: true });
		}
	});
});
