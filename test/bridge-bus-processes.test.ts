/**
 * Bridge processes with the event bus on, killed with SIGKILL in the middle
 * of a backlog: the bridges that take over re-send what the dead one had not
 * marked, JetStream drops the ids it already stored, and a consumer of the
 * stream sees every change exactly once, in commit order per entity. The
 * bridge's `/health` on its metrics port shows the bus going down and up.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort } from "../src/infra/process.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { type NatsServer, startNatsServer, streamChanges } from "./support/nats.ts";
import { herald, killChildren, serviceEnv } from "./support/roles.ts";
import { eventually } from "./support/wait.ts";

let db: TestDatabase;
let actors: Actors;
let nats: NatsServer;
let env: Record<string, string>;

beforeAll(async () => {
	db = await freshDatabase();
	nats = await startNatsServer();
	actors = await startActors(db.sql, "bus-processes");
	env = {
		...(await serviceEnv(db.url)),
		TEMPORAL_TASK_QUEUE: actors.taskQueue,
		NATS_URL: nats.url,
		BRIDGE_POLL_MS: "500",
		METRICS_HOST: "127.0.0.1",
	};
});

afterAll(async () => {
	killChildren();
	await actors?.stop();
	await nats?.dispose();
	await db?.drop();
});

const undelivered = async () =>
	(await db.sql<{ n: number }[]>`select count(*)::int as n from outbox where delivered_at is null`)[0]!.n;

describe("bridge processes + JetStream", () => {
	test("kill -9 mid-backlog, two bridges take over: each change on the bus once, in order per entity", async () => {
		const [user] =
			await db.sql`insert into users (email, display_name) values ('k@example.com', 'K') returning id`;
		const events = await db.sql<{ id: string }[]>`
			insert into events (owner_id, title, starts_at, ends_at, capacity)
			select ${user!.id}, 'e' || g, now() + interval '30 days', now() + interval '30 days 2 hours', 10
			from generate_series(1, 30) g returning id`;
		const ids = events.map((e) => e.id);
		for (let i = 0; i < 1500; i++)
			await db.sql`update events set title = ${`t${i}`} where id = ${ids[i % ids.length]!}`;
		const total = await undelivered();
		expect(total).toBe(1530);

		const first = herald(["bridge"], env);
		await eventually(async () => (await undelivered()) < total, {
			what: "the first bridge delivering",
			timeoutMs: 60_000,
		});
		first.child.kill("SIGKILL");
		await first.child.exited;
		expect(await undelivered()).toBeGreaterThan(0); // it died with work left

		const metricsPort = freePort();
		herald(["bridge"], { ...env, METRICS_PORT: String(metricsPort) });
		herald(["bridge"], env);
		await eventually(async () => (await undelivered()) === 0, {
			what: "the backlog drained",
			timeoutMs: 90_000,
		});

		const seen = await streamChanges(nats.url, "HERALD");
		const rows = await db.sql<
			{ id: string; entity_key: string }[]
		>`select id, entity_key from outbox order by id`;
		const perEntity = (list: { e: string; id: number }[]) =>
			Object.fromEntries(ids.map((id) => [id, list.filter((c) => c.e === id).map((c) => c.id)]));
		expect(perEntity(seen.map((c) => ({ e: c.entityKey, id: c.outboxId })))).toEqual(
			perEntity(rows.map((r) => ({ e: r.entity_key, id: Number(r.id) }))),
		);
		expect(seen).toHaveLength(1530);

		// The bus's state on the bridge's own health endpoint.
		const health = () => fetch(`http://127.0.0.1:${metricsPort}/health`);
		expect((await health()).status).toBe(200);
		await nats.stop();
		const down = await eventually(async () => {
			const res = await health();
			return res.status === 503 ? res.json() : undefined;
		});
		expect(down).toMatchObject({ status: "degraded", checks: { eventBus: { ok: false } } });
		await nats.start();
		await eventually(async () => (await health()).status === 200, {
			what: "healthy again",
			timeoutMs: 30_000,
		});
	}, 240_000);
});
