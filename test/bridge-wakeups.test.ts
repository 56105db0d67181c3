/**
 * The bridge's release NOTIFY (a batch that saw a foreign wake-up while it
 * held entities tells every bridge when it ends) is not sent for the bridge's
 * own wake-ups: a backlog drained in many overlapping batches, with no writer
 * and no other bridge meanwhile, sends no NOTIFY at all. A writer's NOTIFY
 * while a batch holds its entities (Temporal unreachable: the batch waits out
 * its deadline) still makes the bridge tell the others when it ends.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { OUTBOX_CHANNEL, startBridge } from "../src/bridge/bridge.ts";
import { createSql } from "../src/infra/db/sql.ts";
import { createLogger } from "../src/infra/log.ts";
import { connectTemporalClient } from "../src/infra/temporal/client.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { testEnv } from "./support/env.ts";
import { startTcpProxy } from "./support/tcp-proxy.ts";
import { eventually } from "./support/wait.ts";

let db: TestDatabase;
let actors: Actors;

beforeAll(async () => {
	db = await freshDatabase();
	actors = await startActors(db.sql, "bridge-wakeups");
});

afterAll(async () => {
	await actors?.stop();
	await db?.drop();
});

test("a backlog in overlapping batches: no NOTIFY from the bridge, every change delivered", async () => {
	const [user] =
		await db.sql`insert into users (email, display_name) values ('w@example.com', 'W') returning id`;
	await db.sql`
		insert into events (owner_id, title, starts_at, ends_at, capacity)
		select ${user!.id}, 'event ' || g, now() + interval '30 days', now() + interval '30 days 2 hours', 10
		from generate_series(1, 60) g`;
	const [pending] = await db.sql<
		{ n: number }[]
	>`select count(*)::int as n from outbox where delivered_at is null`;
	expect(pending!.n).toBeGreaterThanOrEqual(60);

	// Every NOTIFY on the outbox channel from now on (the writes above are committed).
	const heard: string[] = [];
	const listener = await db.sql.listen(OUTBOX_CHANNEL, (payload) => heard.push(payload));
	const bridgeSql = createSql(db.url, { max: 4 });
	let delivered = 0;
	const b = await startBridge({
		sql: bridgeSql,
		temporal: actors.temporal.client,
		taskQueue: actors.taskQueue,
		log: createLogger("silent"),
		pollIntervalMs: 60_000,
		entitiesPerBatch: 2, // 30+ batches, 4 in flight at once: each ends while others run
		concurrency: 4,
		onDelivered: () => {
			delivered++;
		},
	});
	try {
		await eventually(
			async () =>
				(await db.sql<{ n: number }[]>`select count(*)::int as n from outbox where delivered_at is null`)[0]!
					.n === 0,
			{ what: "the backlog delivered", timeoutMs: 60_000 },
		);
		await b.drain();
	} finally {
		await b.stop();
		await bridgeSql.end({ timeout: 5 }); // its last NOTIFY (if any) is sent by now
	}
	expect(delivered).toBe(pending!.n); // each change once
	// A marker after the bridge's last statement: NOTIFYs arrive in commit order.
	await db.sql`select pg_notify(${OUTBOX_CHANNEL}, 'test:end')`;
	await eventually(() => heard.includes("test:end"), { what: "the marker NOTIFY" });
	await listener.unlisten();
	expect(heard).toEqual(["test:end"]);
}, 90_000);

test("a writer's NOTIFY while a batch holds entities: the bridge sends a release NOTIFY when it ends", async () => {
	const proxy = startTcpProxy((await testEnv()).temporalAddress);
	const viaProxy = await connectTemporalClient({ address: proxy.address, namespace: "default" });
	const heard: string[] = [];
	const listener = await db.sql.listen(OUTBOX_CHANNEL, (payload) => heard.push(payload));
	const bridgeSql = createSql(db.url, { max: 4, applicationName: "herald-bridge-wakeups" });
	const b = await startBridge({
		sql: bridgeSql,
		temporal: viaProxy.client,
		taskQueue: actors.taskQueue,
		log: createLogger("silent"),
		pollIntervalMs: 60_000,
		batchTimeoutMs: 1000,
	});
	try {
		proxy.blackhole();
		const [user] =
			await db.sql`insert into users (email, display_name) values ('h@example.com', 'H') returning id`;
		const event = () => db.sql`
			insert into events (owner_id, title, starts_at, ends_at, capacity)
			values (${user!.id}, 'e', now() + interval '30 days', now() + interval '30 days 2 hours', 10)`;
		await event();
		// A batch holds the first event's entity (its signal waits for the deadline) ...
		await eventually(
			async () =>
				(
					await db.sql<{ n: number }[]>`
						select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
						where l.locktype = 'advisory' and a.application_name = 'herald-bridge-wakeups'`
				)[0]!.n > 0,
			{ what: "a batch holding the entity" },
		);
		await event(); // ... when a writer's NOTIFY arrives
		await eventually(() => heard.some((p) => p.startsWith("bridge:")), {
			what: "the bridge's release NOTIFY",
			timeoutMs: 15_000,
		});
	} finally {
		proxy.restore();
		await b.stop();
		await bridgeSql.end({ timeout: 5 });
		await listener.unlisten();
		await viaProxy.close();
		proxy.stop();
	}
}, 60_000);
