/**
 * A lost connection never takes a process down: the production `api`,
 * `bridge` and `worker` roles run as child processes while every one of their
 * PostgreSQL connections is terminated again and again in the middle of
 * requests, bridge batches and worker activities. All keep running, delivery
 * resumes, and every change reaches its actor exactly once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Client } from "@temporalio/client";
import { freePort } from "../src/infra/process.ts";
import { connectTemporalClient, type TemporalClientHandle } from "../src/infra/temporal/client.ts";
import type { EventActorState } from "../workflows/event.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { testEnv } from "./support/env.ts";
import { herald, killChildren, type RoleProcess, serviceEnv } from "./support/roles.ts";
import { eventually } from "./support/wait.ts";

let db: TestDatabase;
let temporal: TemporalClientHandle;
let roles: RoleProcess[] = [];
const apiPort = freePort();

beforeAll(async () => {
	db = await freshDatabase();
	const env = await testEnv();
	temporal = await connectTemporalClient({ address: env.temporalAddress, namespace: "default" });
	const roleEnv = {
		...(await serviceEnv(db.url)),
		TEMPORAL_TASK_QUEUE: `test-connection-loss-${process.pid}`,
		BRIDGE_POLL_MS: "1000",
		LOG_LEVEL: "info",
	};
	roles = [
		herald(["worker"], roleEnv),
		herald(["bridge"], roleEnv),
		herald(["api"], {
			...roleEnv,
			PORT: String(apiPort),
			HOST: "127.0.0.1",
			AUTH_JWT_SECRET: "connection-loss-secret-0123456789-0123456789",
		}),
	];
	for (const role of roles)
		await eventually(() => role.output().includes('"msg":"ready"') || role.child.exitCode !== null, {
			what: "role ready",
			timeoutMs: 60_000,
		});
	for (const role of roles) expect(role.child.exitCode).toBeNull();
});

afterAll(async () => {
	killChildren();
	await temporal?.close();
	await db?.drop();
});

const terminateHeraldConnections = () => db.sql<{ pid: number }[]>`
	select pg_terminate_backend(pid) as pid from pg_stat_activity
	where datname = current_database() and application_name like 'herald-%' and pid <> pg_backend_pid()`;

const undelivered = async () =>
	(await db.sql<{ n: number }[]>`select count(*)::int as n from outbox where delivered_at is null`)[0]!.n;

async function expectEveryChangeApplied(client: Client, ids: string[]): Promise<void> {
	const rows = await db.sql<{ entity_key: string; n: number; last: string }[]>`
		select entity_key, count(*)::int as n, max(id) as last from outbox
		where entity_key = any(${ids}) group by entity_key`;
	for (const { entity_key, n, last } of rows) {
		const stats = await eventually(
			async () => {
				const s = await client.workflow.getHandle(`event:${entity_key}`).query<EventActorState>("stats");
				return s.lastOutboxId === Number(last) ? s : undefined;
			},
			{ what: `event:${entity_key} applied ${last}`, timeoutMs: 30_000 },
		);
		// Redelivery after a kill is allowed (at least once); applying twice is not.
		expect({ entity_key, applied: stats.applied }).toEqual({ entity_key, applied: n });
	}
}

describe("connection loss", () => {
	test("every Herald connection terminated during batches and activities, repeatedly: no process exits, nothing is lost", async () => {
		const [owner] =
			await db.sql`insert into users (email, display_name) values ('o@example.com', 'O') returning id`;
		const events = await db.sql<{ id: string }[]>`
			insert into events (owner_id, title, starts_at, ends_at, capacity)
			select ${owner!.id}, 'e' || g, now() + interval '30 days', now() + interval '30 days 1 hour', 5
			from generate_series(1, 20) g returning id`;
		const ids = events.map((e) => e.id);
		let killed = 0;
		for (let round = 0; round < 10; round++) {
			// Changes in flight, then the kill while the bridge batches them and the worker loads rows.
			const writes = Promise.all(
				ids.map((id, i) => db.sql`update events set title = ${`r${round}-${i}`} where id = ${id}`),
			);
			await eventually(
				async () => (await db.sql`select 1 from outbox where delivered_at is not null limit 1`).length > 0,
			);
			const reads = Promise.all(
				[0, 1, 2, 3].map(() => fetch(`http://127.0.0.1:${apiPort}/api/v1/health`).then((r) => r.status)),
			);
			killed += (await terminateHeraldConnections()).length;
			await writes;
			for (const status of await reads) expect([200, 503]).toContain(status); // degraded, never a crash
			await eventually(
				async () => {
					const dead = roles.find((r) => r.child.exitCode !== null);
					if (dead) throw new Error(`a role exited:\n${dead.output().slice(-2000)}`);
					return (await undelivered()) < ids.length;
				},
				{
					what: `delivery resumed after kill ${round + 1}`,
					timeoutMs: 15_000,
				},
			);
		}
		expect(killed).toBeGreaterThan(10);
		await eventually(async () => (await undelivered()) === 0, { what: "backlog drained", timeoutMs: 60_000 });
		await expectEveryChangeApplied(temporal.client, ids);
		for (const role of roles) {
			expect(role.child.exitCode).toBeNull();
			expect(role.output()).not.toContain("TypeError");
		}
		// One warning per outage, not one per retry: the bridge logs "failing" at most once per kill.
		const failing = roles[1]!
			.output()
			.split("\n")
			.filter((l) => l.includes("outbox delivery failing"));
		expect(failing.length).toBeLessThanOrEqual(10);
	}, 180_000);
});
