/**
 * Temporal unreachable in the middle of a bridge batch: the batch gives up
 * within its deadline, its transaction ends (advisory locks released, the
 * change still pending), the outage is logged once, and the backlog drains
 * by itself once Temporal is back.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BridgeHandle, startBridge } from "../src/bridge/bridge.ts";
import { createSql, type Sql } from "../src/infra/db/sql.ts";
import { createLogger } from "../src/infra/log.ts";
import { connectTemporalClient, type TemporalClientHandle } from "../src/infra/temporal/client.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { testEnv } from "./support/env.ts";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.ts";
import { eventually } from "./support/wait.ts";

let db: TestDatabase;
let actors: Actors;
let proxy: TcpProxy;
let viaProxy: TemporalClientHandle;
let bridgeSql: Sql;
let bridge: BridgeHandle;
const lines: string[] = [];

beforeAll(async () => {
	db = await freshDatabase();
	actors = await startActors(db.sql, "bridge-outage");
	proxy = startTcpProxy((await testEnv()).temporalAddress);
	viaProxy = await connectTemporalClient({ address: proxy.address, namespace: "default" });
	bridgeSql = createSql(db.url, { max: 3, applicationName: "herald-bridge-outage" });
	bridge = await startBridge({
		sql: bridgeSql,
		temporal: viaProxy.client,
		taskQueue: actors.taskQueue,
		log: createLogger("info", {}, (line) => lines.push(line)),
		pollIntervalMs: 1000,
		batchTimeoutMs: 1000,
	});
});

afterAll(async () => {
	await bridge.stop();
	await bridgeSql.end();
	await viaProxy.close();
	proxy.stop();
	await actors.stop();
	await db.drop();
});

const pending = async () =>
	(await db.sql<{ n: number }[]>`select count(*)::int as n from outbox where delivered_at is null`)[0]!.n;

/** Advisory locks held by the bridge's connections (its claimed entities). */
const bridgeLocks = async () =>
	(
		await db.sql<{ n: number }[]>`
			select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
			where l.locktype = 'advisory' and a.application_name = 'herald-bridge-outage'`
	)[0]!.n;

describe("bridge while Temporal is unreachable", () => {
	test("the batch ends within its deadline, releases its locks, and the backlog drains after Temporal returns", async () => {
		const [owner] =
			await db.sql`insert into users (email, display_name) values ('o@example.com', 'O') returning id`;
		const insert = () => db.sql`
			insert into events (owner_id, title, starts_at, ends_at, capacity)
			values (${owner!.id}, 'e', now() + interval '30 days', now() + interval '30 days 1 hour', 5)`;
		await insert();
		await eventually(async () => (await pending()) === 0, {
			what: "first change delivered",
			timeoutMs: 30_000,
		});

		proxy.blackhole();
		await insert();
		await eventually(async () => (await bridgeLocks()) > 0, { what: "a batch holding the entity" });
		const held = Date.now();
		await eventually(async () => (await bridgeLocks()) === 0, {
			what: "the batch to give up and release its locks",
			timeoutMs: 5_000,
		});
		const releasedAfterMs = Date.now() - held;
		expect(await pending()).toBe(1);
		// Several retries happen during the outage; the warning is written once.
		await eventually(() => lines.some((l) => l.includes("outbox delivery failing")), {
			what: "the outage logged",
		});
		await eventually(async () => (await bridgeLocks()) > 0, { what: "a retry batch" });
		await eventually(async () => (await bridgeLocks()) === 0, {
			what: "the retry released",
			timeoutMs: 5_000,
		});
		expect(lines.filter((l) => l.includes('"level":"warn"'))).toHaveLength(1);

		proxy.restore();
		await eventually(async () => (await pending()) === 0, {
			what: "backlog drained after Temporal returned",
			timeoutMs: 30_000,
		});
		await eventually(() => lines.some((l) => l.includes("outbox delivery recovered")), {
			what: "recovery logged",
		});
		expect(releasedAfterMs).toBeLessThan(4_000); // deadline 1 s; without it the client retries ~15 s
	}, 90_000);
});
