/**
 * Backtest = live: after the processor folded events over several batches
 * (with ticks between them firing timers), a backtest of the same trigger
 * from its creation to the processor's clock returns the same fires (keys,
 * instants, payloads) as trigger_fires holds; a backtest writes nothing;
 * a trigger created after the events can still be backtested against them;
 * bad ranges are 422 and another user's trigger 404.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createLogger } from "../src/infra/log.ts";
import { startProcessor } from "../src/triggers/processor.ts";
import { DEFAULT_TRIGGER_SETTINGS } from "../src/triggers/settings.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type Registered, register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

let t: TestApp;
let alice: Registered;
beforeAll(async () => {
	t = await startTestApp();
	alice = await register(t);
});
afterAll(async () => {
	await t.stop();
});

const definition = {
	name: "bt",
	eventTypes: ["bt.m"],
	condition: "data.v > 40",
	key: "data.agent",
	clauses: { hold: { forSeconds: 0.15, keepFiringForSeconds: 0.1 }, cooldownSeconds: 0.2 },
	action: {
		kind: "webhook",
		url: "https://example.com/h",
		body: { v: "{{data.v}}", s: "{{fire.suppressed}}" },
	},
};

describe("backtest", () => {
	test("equals what the live path fired over the same events", async () => {
		const source = (
			await t.request("POST", "/api/v1/sources", { token: alice.accessToken, body: { name: "s" } })
		).body;
		const created = (
			await t.request("POST", "/api/v1/triggers", { token: alice.accessToken, body: definition })
		).body;
		const processor = await startProcessor({
			sql: t.db.sql,
			log: createLogger("warn"),
			settings: DEFAULT_TRIGGER_SETTINGS,
			loop: false,
		});
		for (let batch = 0; batch < 12; batch++) {
			const events = Array.from({ length: 20 }, (_, i) => ({
				type: "bt.m",
				externalId: `b${batch}-${i}`,
				data: { v: (batch * 31 + i * 17) % 100, agent: `a${i % 3}` },
			}));
			const res = await t.request("POST", "/api/v1/ingest", {
				body: { events },
				headers: { authorization: `Bearer ${source.key}` },
			});
			expect(res.body.accepted).toBe(20);
			await processor.pass();
			await Bun.sleep(60); // let some timers come due between batches (the clock is the database's)
		}
		await eventually(async () => {
			await processor.pass();
			const [row] = await t.db
				.sql`select count(*)::int as n from trigger_state where trigger_id = ${created.id} and due_at is not null`;
			return row!.n === 0;
		});
		await processor.stop();
		const [{ clock }] = (await t.db.sql`
			select p.clock from processor_partitions p join triggers t on t.partition = p.partition where t.id = ${created.id}`) as {
			clock: Date;
		}[] as [{ clock: Date }];
		const live = await t.db
			.sql`select fire_key, fired_at, payload from trigger_fires where trigger_id = ${created.id} order by fired_at, fire_key`;
		const [before] = await t.db.sql`select count(*)::int as n from trigger_fires`;
		const res = await t.request("POST", `/api/v1/triggers/${created.id}/backtest`, {
			token: alice.accessToken,
			body: { from: created.createdAt, to: clock.toISOString() },
		});
		expect(res.status).toBe(200);
		expect(res.body.events).toBe(240);
		expect(live.length).toBeGreaterThanOrEqual(3);
		const sort = (xs: { fireKey: string; at: string; payload: unknown }[]) =>
			xs.map((f) => `${f.at} ${f.fireKey} ${JSON.stringify(f.payload)}`).sort();
		expect(sort(res.body.fires)).toEqual(
			sort(
				live.map((f) => ({
					fireKey: f.fire_key,
					at: (f.fired_at as Date).toISOString(),
					payload: f.payload,
				})),
			),
		);
		// Each key went through pending (the hold) before firing: the stateful path was taken.
		expect(res.body.decisions.pending).toBeGreaterThan(0);
		const [after] = await t.db.sql`select count(*)::int as n from trigger_fires`;
		expect(after!.n).toBe(before!.n);
		// A trigger created afterwards replays the same history (its fire keys are its own).
		const later = (
			await t.request("POST", "/api/v1/triggers", { token: alice.accessToken, body: definition })
		).body;
		const replay = await t.request("POST", `/api/v1/triggers/${later.id}/backtest`, {
			token: alice.accessToken,
			body: { from: created.createdAt, to: clock.toISOString() },
		});
		expect(replay.body.fires.map((f: { at: string }) => f.at)).toEqual(
			res.body.fires.map((f: { at: string }) => f.at),
		);
	}, 60_000);

	test("a bad range is 422; another user's trigger is 404", async () => {
		const created = (
			await t.request("POST", "/api/v1/triggers", { token: alice.accessToken, body: definition })
		).body;
		const bad = await t.request("POST", `/api/v1/triggers/${created.id}/backtest`, {
			token: alice.accessToken,
			body: { from: "2030-01-02T00:00:00Z", to: "2030-01-01T00:00:00Z" },
		});
		expect(bad.status).toBe(422);
		const mallory = await register(t);
		const other = await t.request("POST", `/api/v1/triggers/${created.id}/backtest`, {
			token: mallory.accessToken,
			body: { from: "2030-01-01T00:00:00Z", to: "2030-01-02T00:00:00Z" },
		});
		expect(other.status).toBe(404);
	});
});
