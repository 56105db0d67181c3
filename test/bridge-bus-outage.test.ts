/**
 * The event bus against a real JetStream nats-server, where the duplicate
 * window alone cannot keep a consumer from seeing a change twice:
 *
 * - Temporal down longer than the duplicate window (here 1 s): the bridge
 *   retries the entity again and again; nothing reaches the stream until its
 *   signals succeeded, so no retry can publish it again after the window
 *   expired; once Temporal is back the stream holds the change once.
 * - Two Herald databases publishing to one stream: their outbox ids coincide
 *   (both start from the same template), their message ids do not (each is
 *   prefixed with its database's identity): the stream holds both changes.
 * - Postgres refusing the mark after JetStream acknowledged the change (for
 *   longer than the window): the bridge's retries mark it without publishing
 *   it again.
 * - NATS reachable but not answering: a publish gives up at the batch's
 *   deadline (BRIDGE_BATCH_TIMEOUT_MS), not at the bus's own (much longer)
 *   timeout; the change stays pending and is published once when NATS answers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { type BridgeHandle, startBridge } from "../src/bridge/bridge.ts";
import { createBus, type EventBus } from "../src/bridge/bus.ts";
import { databaseIdentity } from "../src/bridge/outbox.ts";
import type { Sql } from "../src/infra/db/sql.ts";
import { createLogger } from "../src/infra/log.ts";
import { scrape } from "../src/infra/metrics.ts";
import { connectTemporalClient, type TemporalClientHandle } from "../src/infra/temporal/client.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { testEnv } from "./support/env.ts";
import { sumOf } from "./support/metrics.ts";
import { type NatsServer, startNatsServer, streamChanges } from "./support/nats.ts";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.ts";
import { eventually } from "./support/wait.ts";

let db: TestDatabase;
let actors: Actors;
let nats: NatsServer;
const buses: EventBus[] = [];
const bridges: BridgeHandle[] = [];
const proxies: TcpProxy[] = [];
const clients: TemporalClientHandle[] = [];

beforeAll(async () => {
	db = await freshDatabase();
	nats = await startNatsServer();
	actors = await startActors(db.sql, "bus-outage");
});

/** Each test's bridges stop with it: a bridge left running would take the next test's changes. */
afterEach(async () => {
	await Promise.all(bridges.splice(0).map((b) => b.stop()));
});

afterAll(async () => {
	await Promise.all(buses.map((b) => b.close()));
	await Promise.all(clients.map((c) => c.close()));
	for (const p of proxies) p.stop();
	await actors?.stop();
	await nats?.dispose();
	await db?.drop();
});

/** A bus on a stream (and subjects) of its own. */
function bus(stream: string, options: { url?: string; duplicateWindowSeconds?: number; timeoutMs?: number }) {
	const b = createBus({
		url: options.url ?? nats.url,
		stream,
		subjectPrefix: stream.toLowerCase(),
		duplicateWindowSeconds: options.duplicateWindowSeconds ?? 600,
		timeoutMs: options.timeoutMs ?? 1000,
		log: createLogger("silent"),
	});
	buses.push(b);
	return b;
}

async function bridge(options: {
	sql?: Sql;
	bus: EventBus;
	temporal?: TemporalClientHandle;
	batchTimeoutMs?: number;
}): Promise<BridgeHandle> {
	const b = await startBridge({
		sql: options.sql ?? db.sql,
		temporal: (options.temporal ?? actors.temporal).client,
		taskQueue: actors.taskQueue,
		log: createLogger("silent"),
		pollIntervalMs: 200,
		batchTimeoutMs: options.batchTimeoutMs ?? 1000,
		bus: options.bus,
	});
	bridges.push(b);
	return b;
}

async function createEvent(sql: Sql = db.sql): Promise<string> {
	const [user] = await sql<{ id: string }[]>`
		insert into users (email, display_name) values (${`${crypto.randomUUID()}@example.com`}, 'Bus') returning id`;
	const [event] = await sql<{ id: string }[]>`
		insert into events (owner_id, title, starts_at, ends_at, capacity)
		values (${user!.id}, 'e', now() + interval '30 days', now() + interval '30 days 2 hours', 10) returning id`;
	return event!.id;
}

const outboxOf = async (entity: string, sql: Sql = db.sql) =>
	(
		await sql<{ id: string; delivered: boolean }[]>`
			select id, delivered_at is not null as delivered from outbox where entity_key = ${entity} order by id`
	).map((r) => ({ id: Number(r.id), delivered: r.delivered }));

const batchFailures = async () => sumOf(await scrape(), "herald_bridge_batch_failures_total");

describe("event bus: no duplicates past the window, ids per database, the batch deadline", () => {
	test("Temporal down longer than the duplicate window: the change reaches the stream once, after its signal", async () => {
		const proxy = startTcpProxy((await testEnv()).temporalAddress);
		proxies.push(proxy);
		const viaProxy = await connectTemporalClient({ address: proxy.address, namespace: "default" });
		clients.push(viaProxy);
		await bridge({
			bus: bus("OUTAGE", { duplicateWindowSeconds: 1 }),
			temporal: viaProxy,
			batchTimeoutMs: 300,
		});
		const id = await createEvent();
		await eventually(async () => (await outboxOf(id)).every((r) => r.delivered), {
			what: "the insert delivered",
			timeoutMs: 30_000,
		});

		proxy.blackhole();
		await db.sql`update events set title = 'during the outage' where id = ${id}`;
		const change = (await outboxOf(id)).at(-1)!;
		// The bridge tries the change again and again for more than twice the duplicate window.
		const before = await batchFailures();
		await eventually(async () => (await batchFailures()) > before, { what: "a failed batch" });
		const first = Date.now();
		await eventually(async () => (await batchFailures()) >= before + 3 && Date.now() - first > 2500, {
			what: "retries spanning two duplicate windows",
			timeoutMs: 30_000,
			intervalMs: 100,
		});
		expect((await streamChanges(nats.url, "OUTAGE")).filter((c) => c.outboxId === change.id)).toEqual([]);
		expect((await outboxOf(id)).at(-1)).toEqual({ id: change.id, delivered: false });

		proxy.restore();
		await eventually(async () => (await outboxOf(id)).every((r) => r.delivered), {
			what: "delivered after Temporal returned",
			timeoutMs: 30_000,
		});
		const seen = (await streamChanges(nats.url, "OUTAGE")).filter((c) => c.entityKey === id);
		expect(seen.map((c) => c.outboxId)).toEqual((await outboxOf(id)).map((r) => r.id)); // each once, in order
	}, 90_000);

	test("two databases on one stream: equal outbox ids, distinct message ids, both changes kept", async () => {
		const other = await freshDatabase();
		try {
			const shared = bus("SHARED", {});
			const otherActors = await startActors(other.sql, "bus-outage-other");
			try {
				const mine = await createEvent();
				const theirs = await createEvent(other.sql);
				const [a] = await outboxOf(mine);
				const [b] = await outboxOf(theirs, other.sql);
				// Both clones of one template: the first changes carry the same outbox id.
				await db.sql`select setval(pg_get_serial_sequence('outbox', 'id'), ${Math.max(a!.id, b!.id)})`;
				await other.sql`select setval(pg_get_serial_sequence('outbox', 'id'), ${Math.max(a!.id, b!.id)})`;
				await db.sql`update events set title = 'same id' where id = ${mine}`;
				await other.sql`update events set title = 'same id' where id = ${theirs}`;
				const [, x] = await outboxOf(mine);
				const [, y] = await outboxOf(theirs, other.sql);
				expect(x!.id).toBe(y!.id);

				await bridge({ bus: shared });
				const second = await startBridge({
					sql: other.sql,
					temporal: otherActors.temporal.client,
					taskQueue: otherActors.taskQueue,
					log: createLogger("silent"),
					pollIntervalMs: 200,
					bus: shared,
				});
				bridges.push(second);
				await eventually(
					async () =>
						(await outboxOf(mine)).every((r) => r.delivered) &&
						(await outboxOf(theirs, other.sql)).every((r) => r.delivered),
					{ what: "both databases delivered", timeoutMs: 30_000 },
				);
				const seen = (await streamChanges(nats.url, "SHARED")).filter((c) => c.outboxId === x!.id);
				const ours = await databaseIdentity(db.sql);
				const others = await databaseIdentity(other.sql);
				expect(ours).not.toBe(others);
				expect(seen.map((c) => [c.source, c.entityKey]).sort()).toEqual(
					[
						[ours, mine],
						[others, theirs],
					].sort(),
				);
			} finally {
				await otherActors.stop();
			}
		} finally {
			await other.drop();
		}
	}, 90_000);

	test("the mark fails after the publish, longer than the duplicate window: the retries do not publish again", async () => {
		await bridge({ bus: bus("UNMARKED", { duplicateWindowSeconds: 1 }), batchTimeoutMs: 300 });
		const id = await createEvent();
		await eventually(async () => (await outboxOf(id)).every((r) => r.delivered), {
			what: "the insert delivered",
			timeoutMs: 30_000,
		});
		await db.sql.unsafe(`
			create table test_refuse_marks (entity_key text primary key);
			create function test_refuse_mark() returns trigger language plpgsql as $$
			begin
				if exists (select 1 from test_refuse_marks where entity_key = new.entity_key) then
					raise exception 'test: the mark is refused for now';
				end if;
				return new;
			end $$;
			create trigger test_refuse_mark before update on outbox
				for each row execute function test_refuse_mark();`);
		await db.sql`insert into test_refuse_marks values (${id})`;
		await db.sql`update events set title = 'published, not marked' where id = ${id}`;
		const change = (await outboxOf(id)).at(-1)!;
		const published = () =>
			streamChanges(nats.url, "UNMARKED").then((all) => all.filter((c) => c.outboxId === change.id));
		await eventually(async () => (await published()).length > 0, { what: "the change published" });
		const first = Date.now();
		const before = await batchFailures();
		await eventually(async () => (await batchFailures()) >= before + 3 && Date.now() - first > 2500, {
			what: "failed marks spanning two duplicate windows",
			timeoutMs: 30_000,
			intervalMs: 100,
		});
		expect((await outboxOf(id)).at(-1)).toEqual({ id: change.id, delivered: false });

		await db.sql`delete from test_refuse_marks`;
		await eventually(async () => (await outboxOf(id)).every((r) => r.delivered), {
			what: "marked once Postgres takes the mark",
			timeoutMs: 30_000,
		});
		expect((await published()).length).toBe(1);
	}, 90_000);

	test("NATS not answering: the publish ends at the batch's deadline, not the bus timeout; then once", async () => {
		const proxy = startTcpProxy(`127.0.0.1:${nats.port}`);
		proxies.push(proxy);
		// The bus's own timeout is a minute: only the batch's deadline (500 ms) can end the publish.
		const slow = bus("SILENT", { url: `nats://${proxy.address}`, timeoutMs: 60_000 });
		await bridge({ bus: slow, batchTimeoutMs: 500 });
		const id = await createEvent();
		await eventually(async () => (await outboxOf(id)).every((r) => r.delivered), {
			what: "the insert delivered",
			timeoutMs: 30_000,
		});

		proxy.blackhole();
		const before = await batchFailures();
		await db.sql`update events set title = 'nats silent' where id = ${id}`;
		await eventually(async () => (await batchFailures()) > before, {
			what: "the batch to give up at its deadline",
			timeoutMs: 15_000,
		});
		expect((await outboxOf(id)).at(-1)!.delivered).toBe(false);

		proxy.restore();
		await eventually(async () => (await outboxOf(id)).every((r) => r.delivered), {
			what: "delivered once NATS answers",
			timeoutMs: 60_000,
		});
		const seen = (await streamChanges(nats.url, "SILENT")).filter((c) => c.entityKey === id);
		expect(seen.map((c) => c.outboxId)).toEqual((await outboxOf(id)).map((r) => r.id));
	}, 120_000);
});
