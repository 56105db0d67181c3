/**
 * The notify bridge against real PostgreSQL and Temporal: nothing written
 * while it is down is lost, a killed LISTEN connection loses nothing, and two
 * bridges deliver every change exactly once, in order per entity.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSql, type Sql } from "../src/infra/db/sql.ts";
import type { EventActorState } from "../workflows/event.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { eventually } from "./support/wait.ts";

let db: TestDatabase;
let actors: Actors;
let owner: string;

beforeAll(async () => {
	db = await freshDatabase();
	actors = await startActors(db.sql, "bridge");
	const [user] =
		await db.sql`insert into users (email, display_name) values ('owner@example.com', 'Owner') returning id`;
	owner = user!.id;
});

afterAll(async () => {
	await actors.stop();
	await db.drop();
});

async function createEvents(n: number): Promise<string[]> {
	const rows = await db.sql<{ id: string }[]>`
		insert into events (owner_id, title, starts_at, ends_at, capacity)
		select ${owner}, 'event ' || g, now() + interval '30 days', now() + interval '30 days 2 hours', 10
		from generate_series(1, ${n}) g returning id`;
	return rows.map((r) => r.id);
}

/** `n` updates spread round-robin over the events, each its own transaction. */
async function updateEvents(ids: string[], n: number, sql: Sql = db.sql): Promise<void> {
	for (let i = 0; i < n; i++)
		await sql`update events set title = ${`change ${i}`} where id = ${ids[i % ids.length]!}`;
}

const bridge = (sql: Sql = db.sql) => actors.bridge(sql);

async function undelivered(): Promise<number> {
	const [row] = await db.sql<
		{ n: number }[]
	>`select count(*)::int as n from outbox where delivered_at is null`;
	return row!.n;
}

/** Every actor applied exactly its entity's changes, none twice, none out of order. */
async function expectActorsApplied(ids: string[]): Promise<void> {
	const counts = await db.sql<{ entity_key: string; n: number; last: string }[]>`
		select entity_key, count(*)::int as n, max(id) as last from outbox
		where entity_key = any(${ids}) group by entity_key`;
	for (const { entity_key, n, last } of counts) {
		const handle = actors.temporal.client.workflow.getHandle(`event:${entity_key}`);
		const stats = await eventually(
			async () => {
				const s = await handle.query<EventActorState>("stats");
				return s.lastOutboxId === Number(last) ? s : undefined;
			},
			{ what: `actor event:${entity_key} to apply outbox id ${last}`, timeoutMs: 30_000 },
		);
		expect({ entity_key, applied: stats.applied, ignored: stats.ignored }).toEqual({
			entity_key,
			applied: n,
			ignored: 0,
		});
	}
}

describe("notify bridge", () => {
	test("1,000 changes written while no bridge runs are all delivered, in order, once", async () => {
		const ids = await createEvents(20);
		await updateEvents(ids, 980);
		expect(await undelivered()).toBe(1000);
		const b = await bridge();
		try {
			await eventually(async () => (await undelivered()) === 0, {
				what: "backlog drained",
				timeoutMs: 60_000,
			});
			// The count follows the marks' commit (which the query above may see first).
			await eventually(() => b.delivered === 1000, { what: `1000 counted, not ${b.delivered}` });
			await expectActorsApplied(ids);
		} finally {
			await b.stop();
		}
	}, 120_000);

	test("one batch in flight at a time (every slot taken while changes keep coming): still drains, in order, once", async () => {
		const ids = await createEvents(12);
		const b = await actors.bridge(db.sql, 60_000, { concurrency: 1, entitiesPerBatch: 1 });
		try {
			// Wake-ups arrive while the only slot is taken; the finishing batch must pick them up.
			await updateEvents(ids, 60);
			await eventually(async () => (await undelivered()) === 0, { what: "all delivered", timeoutMs: 60_000 });
			await expectActorsApplied(ids);
		} finally {
			await b.stop();
		}
	}, 120_000);

	test("the LISTEN connection killed mid-stream: the bridge reconnects and loses nothing", async () => {
		const ids = await createEvents(5);
		const b = await bridge(); // safety timer at 60 s: only NOTIFY and reconnect can deliver in time
		try {
			await eventually(async () => (await undelivered()) === 0, { what: "first inserts delivered" });
			await updateEvents(ids, 50);
			const killed = await db.sql`
				select pg_terminate_backend(pid) as ok from pg_stat_activity
				where datname = current_database() and query ilike 'listen%'`;
			expect(killed.length).toBeGreaterThan(0);
			await updateEvents(ids, 50);
			await eventually(async () => (await undelivered()) === 0, {
				what: "changes after the kill",
				timeoutMs: 30_000,
			});
			await expectActorsApplied(ids);
		} finally {
			await b.stop();
		}
	}, 60_000);

	test("two bridges at once deliver every change exactly once, in order per entity", async () => {
		const ids = await createEvents(10);
		const other = createSql(db.url, { max: 5 });
		const [a, b] = await Promise.all([bridge(), bridge(other)]);
		try {
			const writer = createSql(db.url, { max: 4 });
			await Promise.all([0, 1, 2, 3].map(() => updateEvents(ids, 100, writer)));
			await writer.end();
			await eventually(async () => (await undelivered()) === 0, { what: "all delivered", timeoutMs: 60_000 });
			await eventually(() => a.delivered + b.delivered === 410, {
				what: `410 counted, not ${a.delivered + b.delivered}`,
			});
			await expectActorsApplied(ids);
		} finally {
			await Promise.all([a.stop(), b.stop()]);
			await other.end();
		}
	}, 120_000);
});
