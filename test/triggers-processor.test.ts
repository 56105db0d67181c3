/**
 * The processor over real PostgreSQL: live decisions equal the dry-run's,
 * a condition edit resets state, two processors share the partitions (each
 * held once), and kill -9 of the processor role (a child process) during
 * 10,000 events: the fires equal those of an uninterrupted fold of the same
 * events, and a pending `for:` timer fires after the restart.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createLogger } from "../src/infra/log.ts";
import { compileTrigger } from "../src/triggers/definition.ts";
import { Folder, type LiveTrigger } from "../src/triggers/fold.ts";
import { startProcessor } from "../src/triggers/processor.ts";
import { eventsAfter } from "../src/triggers/processor-store.ts";
import { DEFAULT_TRIGGER_SETTINGS } from "../src/triggers/settings.ts";
import { definitionOf, type TriggerRow } from "../src/triggers/triggers-repository.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { herald, killChildren, serviceEnv } from "./support/roles.ts";
import { type Registered, register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

let t: TestApp;
let alice: Registered;
const log = createLogger("warn");
const settings = { ...DEFAULT_TRIGGER_SETTINGS, processorBatchSize: 250 };

beforeAll(async () => {
	t = await startTestApp();
	alice = await register(t);
});
afterAll(async () => {
	killChildren();
	await t.stop();
});

const source = async () =>
	(await t.request("POST", "/api/v1/sources", { token: alice.accessToken, body: { name: "s" } })).body;
const trigger = async (body: Record<string, unknown>) => {
	const res = await t.request("POST", "/api/v1/triggers", {
		token: alice.accessToken,
		body: {
			name: "t",
			action: {
				kind: "webhook",
				url: "https://example.com/h",
				body: { v: "{{data.v}}", n: "{{fire.suppressed}}" },
			},
			...body,
		},
	});
	expect(res.status).toBe(201);
	return res.body as { id: string; version: number };
};
const ingest = async (key: string, events: unknown[]) => {
	const res = await t.request("POST", "/api/v1/ingest", {
		body: { events },
		headers: { authorization: `Bearer ${key}` },
	});
	expect(res.status).toBe(200);
	return res.body;
};
const fires = (triggerId: string) =>
	t.db.sql<{ fire_key: string; fired_at: Date; payload: unknown; suppressed: number }[]>`
		select fire_key, fired_at, payload, suppressed from trigger_fires where trigger_id = ${triggerId} order by fire_key`;
const caughtUp = async () => {
	const [row] = await t.db.sql<{ behind: number }[]>`
		select count(*)::int as behind from processor_partitions
		where last_seq < (select coalesce(max(seq), 0) from ingested_events)`;
	return row!.behind === 0;
};

describe("live processing", () => {
	test("decisions and fires equal the dry-run's over the same events; state and checkpoint committed", async () => {
		const s = await source();
		const def = {
			eventTypes: ["live.a"],
			condition: "data.v > 10",
			key: "data.agent",
			clauses: { cooldownSeconds: 3600 },
		};
		const trg = await trigger(def);
		const events = [11, 5, 12, 13].map((v, i) => ({
			type: "live.a",
			externalId: `l${i}`,
			data: { v, agent: i % 2 ? "b" : "a" },
		}));
		await ingest(s.key, events);
		const p = await startProcessor({ sql: t.db.sql, log, settings, loop: false });
		await p.pass();
		await p.stop();
		// Through explain: a batch's quiet false conditions are one stored row, one item per event.
		const explained = await t.request("GET", `/api/v1/triggers/${trg.id}/decisions`, {
			token: alice.accessToken,
		});
		const decisions = explained.body.items as { key: string; decision: string }[];
		expect(decisions.map((d) => `${d.key}:${d.decision}`)).toEqual([
			"a:fire",
			"b:condition_false",
			"a:cooldown",
			"b:fire",
		]);
		const stored = await t.db.sql`
			select received_at from ingested_events where source_id = ${s.id} order by seq`;
		const dry = await t.request("POST", "/api/v1/triggers/dry-run", {
			token: alice.accessToken,
			body: {
				trigger: {
					name: "t",
					action: {
						kind: "webhook",
						url: "https://example.com/h",
						body: { v: "{{data.v}}", n: "{{fire.suppressed}}" },
					},
					...def,
				},
				events: events.map((e, i) => ({
					type: e.type,
					data: e.data,
					receivedAt: stored[i]!.received_at.toISOString(),
				})),
			},
		});
		expect(
			dry.body.decisions.map((d: { key: string; decision: string }) => `${d.key}:${d.decision}`),
		).toEqual(decisions.map((d) => `${d.key}:${d.decision}`));
		const live = await fires(trg.id);
		expect(live.map((f) => f.payload)).toEqual(
			dry.body.decisions
				.filter((d: { decision: string }) => d.decision === "fire")
				.map((d: { payload: unknown }) => d.payload),
		);
		const states = await t.db
			.sql`select key, version from trigger_state where trigger_id = ${trg.id} order by key`;
		expect(states.map((r) => r.key)).toEqual(["a", "b"]);
		expect(await caughtUp()).toBe(true);
	});

	test("editing the condition resets state (a new version starts from nothing)", async () => {
		const s = await source();
		const trg = await trigger({
			eventTypes: ["reset.a"],
			condition: "data.v > 0",
			clauses: { cooldownSeconds: 3600 },
		});
		const p = await startProcessor({ sql: t.db.sql, log, settings, loop: false });
		await ingest(s.key, [{ type: "reset.a", externalId: "1", data: { v: 1 } }]);
		await p.pass();
		await t.request("PATCH", `/api/v1/triggers/${trg.id}`, {
			token: alice.accessToken,
			body: { condition: "data.v > 1" },
		});
		await ingest(s.key, [{ type: "reset.a", externalId: "2", data: { v: 2 } }]);
		await p.pass();
		await p.stop();
		// Without the reset the second event would be inside the cooldown.
		expect((await fires(trg.id)).map((f) => f.fire_key.split(":")[1])).toEqual(["v1", "v2"]);
	});

	test("explain gives a false condition's operands from the stored event and the deciding version; keys that never matched keep no state", async () => {
		const s = await source();
		const trg = await trigger({
			eventTypes: ["explain.a"],
			condition: "data.v > 10 && data.agent == 'a'",
			key: "data.agent",
			clauses: { cooldownSeconds: 3600 },
		});
		await ingest(s.key, [
			{ type: "explain.a", externalId: "1", data: { v: 5, agent: "a" } },
			{ type: "explain.a", externalId: "2", data: { v: 50, agent: "b" } },
			{ type: "explain.a", externalId: "3", data: { v: 50, agent: "a" } },
		]);
		const p = await startProcessor({ sql: t.db.sql, log, settings, loop: false });
		await p.pass();
		// "b" only ever had a false condition: no state row; "a" fired.
		const states = await t.db.sql`select key from trigger_state where trigger_id = ${trg.id} order by key`;
		expect(states.map((r) => r.key)).toEqual(["a"]);
		// A new version decides differently; the old decisions are still explained by the old one.
		await t.request("PATCH", `/api/v1/triggers/${trg.id}`, {
			token: alice.accessToken,
			body: { condition: "data.v > 100" },
		});
		await ingest(s.key, [{ type: "explain.a", externalId: "4", data: { v: 60, agent: "a" } }]);
		await p.pass();
		await p.stop();
		// Stored: one row per batch for the false conditions (events 1 and 2 in the first batch, 4 in
		// the second), without operand values; the fire is a row of its own.
		const stored = await t.db.sql`
			select event_seq, last_seq, reason from trigger_decisions
			where trigger_id = ${trg.id} and decision = 'condition_false' order by id`;
		const seqs = (await t.db.sql`select seq from ingested_events where source_id = ${s.id} order by seq`).map(
			(r): number => Number(r.seq),
		) as [number, number, number, number];
		expect(stored.map((r) => [Number(r.event_seq), Number(r.last_seq)])).toEqual([
			[seqs[0], seqs[1]],
			[seqs[3], seqs[3]],
		]);
		expect(stored[0]!.reason.events.map((e: unknown[]) => e.slice(0, 2))).toEqual([
			[seqs[0], "a"],
			[seqs[1], "b"],
		]);
		const res = await t.request("GET", `/api/v1/triggers/${trg.id}/decisions`, { token: alice.accessToken });
		expect(res.status).toBe(200);
		expect(
			res.body.items.map((d: { key: string; decision: string; reason: Record<string, unknown> }) => [
				d.key,
				d.decision,
				d.reason.operands,
			]),
		).toEqual([
			[
				"a",
				"condition_false",
				[
					{ operand: "data.v > 10", value: false },
					{ operand: "data.agent == 'a'", value: true },
				],
			],
			[
				"b",
				"condition_false",
				[
					{ operand: "data.v > 10", value: true },
					{ operand: "data.agent == 'a'", value: false },
				],
			],
			["a", "fire", undefined],
			["a", "condition_false", []], // a single comparison has no operands to list
		]);
		// Paging by nextAfterId: every decision once, however a page cuts the batch rows.
		const seen: string[] = [];
		let after = 0;
		for (let i = 0; i < 10; i++) {
			const page = await t.request("GET", `/api/v1/triggers/${trg.id}/decisions?limit=1&afterId=${after}`, {
				token: alice.accessToken,
			});
			for (const d of page.body.items) seen.push(`${d.eventSeq}:${d.decision}`);
			if (page.body.nextAfterId === undefined) break;
			after = page.body.nextAfterId;
		}
		expect(seen.sort()).toEqual(
			res.body.items.map((d: { eventSeq: number; decision: string }) => `${d.eventSeq}:${d.decision}`).sort(),
		);
		const [event] = await t.db
			.sql`select id from ingested_events where source_id = ${s.id} and external_id = '2'`;
		const one = await t.request("GET", `/api/v1/triggers/${trg.id}/decisions?eventId=${event!.id}`, {
			token: alice.accessToken,
		});
		expect(one.body.items.map((d: { decision: string }) => d.decision)).toEqual(["condition_false"]);
	});

	test("a batch reads a bounded window of seqs: an event far past other owners' and types' events still folds", async () => {
		const s = await source();
		const trg = await trigger({ eventTypes: ["far.a"], condition: "data.v > 0" });
		// 5 events a batch: a window of 50 seqs; 180 events nobody hears lie before the one it hears.
		await ingest(
			s.key,
			Array.from({ length: 180 }, (_, i) => ({ type: "far.other", externalId: `o${i}`, data: { v: 1 } })),
		);
		await ingest(s.key, [{ type: "far.a", externalId: "hit", data: { v: 1 } }]);
		const p = await startProcessor({
			sql: t.db.sql,
			log,
			settings: { ...settings, processorBatchSize: 5 },
			loop: false,
		});
		await p.pass();
		await p.stop();
		expect((await fires(trg.id)).length).toBe(1);
		expect(await caughtUp()).toBe(true);
	});

	test("an idle pass writes nothing (no checkpoint update without new events or timers)", async () => {
		const p = await startProcessor({ sql: t.db.sql, log, settings, loop: false });
		await p.pass(); // catch up with whatever the earlier tests ingested
		const versions = async () =>
			(await t.db.sql`select partition, xmin::text as v from processor_partitions order by partition`).map(
				(r) => `${r.partition}:${r.v}`,
			);
		const before = await versions();
		await p.pass();
		await p.pass();
		expect(await versions()).toEqual(before);
		const s = await source();
		await trigger({ eventTypes: ["idle.a"], condition: "data.v > 0" });
		await ingest(s.key, [{ type: "idle.a", externalId: "1", data: { v: 1 } }]);
		await p.pass(); // a new event: the checkpoints move
		await p.stop();
		expect(await versions()).not.toEqual(before);
	});

	test("two processors share the partitions; each is held by one", async () => {
		const a = await startProcessor({ sql: t.db.sql, log, settings, loop: false });
		await a.pass();
		expect(a.held().length).toBe(16);
		const b = await startProcessor({ sql: t.db.sql, log, settings, loop: false });
		await b.pass(); // a holds everything: b takes nothing yet
		await a.pass(); // a gives back down to its share
		await b.pass();
		expect(a.held().length).toBe(8);
		expect(b.held().length).toBe(8);
		expect(a.held().filter((p) => b.held().includes(p))).toEqual([]);
		await b.stop();
		await a.pass();
		expect(a.held().length).toBe(16);
		await a.stop();
	});
});

describe("kill -9", () => {
	test("10,000 events with the processor killed twice: fires equal an uninterrupted fold", async () => {
		const s = await source();
		const defs = [
			{
				eventTypes: ["k.m"],
				condition: "data.v > 90",
				key: "data.agent",
				clauses: { cooldownSeconds: 0.05 },
			},
			{
				eventTypes: ["k.m"],
				condition: "data.v > 50",
				key: "data.agent",
				clauses: { count: { mode: "sliding", windowSeconds: 1, threshold: 5 } },
			},
			{
				eventTypes: ["k.m"],
				condition: "ema > 60.0",
				clauses: {
					ema: { value: "data.v", halfLifeSeconds: 0.5, minSamples: 3 },
					hold: { keepFiringForSeconds: 0.2 },
				},
			},
			{
				eventTypes: ["k.m"],
				condition: "data.v > 97",
				clauses: { debounce: { periodSeconds: 0.1, maxWaitSeconds: 0.3 } },
			},
		];
		const triggers = [];
		for (const d of defs) triggers.push(await trigger(d));
		const env = {
			...(await serviceEnv(t.db.url)),
			PROCESSOR_POLL_MS: "50",
			PROCESSOR_BATCH_SIZE: "200",
			LOG_LEVEL: "warn",
		};
		let child = herald(["processor"], env);
		let rng = 7;
		const next = () => {
			rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
			return (rng >>> 16) % 100;
		};
		for (let batch = 0; batch < 20; batch++) {
			const events = Array.from({ length: 500 }, (_, i) => ({
				type: "k.m",
				externalId: `k${batch}-${i}`,
				data: { v: next(), agent: `a${i % 7}` },
			}));
			await ingest(s.key, events);
			if (batch === 6 || batch === 13) {
				// Kill it mid-work: after it committed something of this batch, before it caught up.
				const [top] = await t.db.sql`select max(seq)::bigint as max from ingested_events`;
				const max = top!.max;
				await eventually(async () => {
					const [row] = await t.db.sql`select max(last_seq)::bigint as s from processor_partitions`;
					return Number(row!.s) > Number(max) - 500 || undefined;
				});
				child.child.kill("SIGKILL");
				await child.child.exited;
				child = herald(["processor"], env);
			}
		}
		await eventually(caughtUp, { timeoutMs: 60_000 });
		// Let every timer come due, then stop the processor.
		await eventually(
			async () => {
				const [row] = await t.db.sql`select count(*)::int as n from trigger_state where due_at is not null`;
				return row!.n === 0;
			},
			{ timeoutMs: 30_000 },
		);
		child.child.kill("SIGKILL");
		await child.child.exited;
		const [low] = await t.db.sql`select min(clock) as clock from processor_partitions`;
		const clock = low!.clock;
		const end = (clock as Date).getTime();
		// The uninterrupted run: one fold of every event, then the timers up to the same clock.
		const rows = await t.db.sql<TriggerRow[]>`
			select id, owner_id, name, event_types, source_ids::text[] as source_ids, condition, key_expr, clauses, action,
			  enabled, version, partition, created_at, updated_at from triggers where id = any(${triggers.map((x) => x.id)}::uuid[])`;
		const live: LiveTrigger[] = rows.map((r) => ({
			compiled: compileTrigger(definitionOf(r), { id: r.id, version: r.version }),
			ownerId: r.owner_id,
			createdAt: r.created_at.getTime(),
		}));
		const events = await eventsAfter(t.db.sql, {
			afterSeq: 0,
			maxSeq: Number.MAX_SAFE_INTEGER,
			owners: [alice.userId],
			types: ["k.m"],
			limit: 100_000,
		});
		expect(events.length).toBe(10_000);
		const folder = new Folder(live, new Map(), 1000);
		folder.events(events);
		folder.tick(end, []);
		const expected = folder.result.fires
			.filter((f) => f.decision.at <= end)
			.map((f) => `${f.decision.fire!.fireKey}@${f.decision.at}:${JSON.stringify(f.decision.fire!.payload)}`)
			.sort();
		const actual = (
			await t.db.sql`select fire_key, fired_at, payload from trigger_fires
				where trigger_id = any(${triggers.map((x) => x.id)}::uuid[]) and fired_at <= ${new Date(end)}`
		)
			.map((f) => `${f.fire_key}@${(f.fired_at as Date).getTime()}:${JSON.stringify(f.payload)}`)
			.sort();
		expect(expected.length).toBeGreaterThan(50);
		// Every kind of clause fired (cooldown, count window, EMA + keep_firing_for, debounce).
		for (const [i, x] of triggers.entries())
			expect([i, expected.some((f) => f.startsWith(x.id))]).toEqual([i, true]);
		expect(actual).toEqual(expected);
	}, 180_000);

	/**
	 * A trigger whose one event leaves a pending timer: the processor (a child) commits the timer,
	 * is killed before it is due, and a second processor fires it. Returns the fire, the timer's
	 * committed due_at and the event.
	 */
	async function timerAfterKill(type: string, clauses: Record<string, unknown>) {
		const s = await source();
		const trg = await trigger({ eventTypes: [type], condition: "data.v > 0", clauses });
		const env = { ...(await serviceEnv(t.db.url)), PROCESSOR_POLL_MS: "50", LOG_LEVEL: "info" };
		const first = herald(["processor"], env);
		await eventually(() => first.output().includes("processor running"), { timeoutMs: 30_000 });
		await ingest(s.key, [{ type, externalId: "1", data: { v: 1 } }]);
		const [state] = await eventually(async () => {
			const rows = await t.db
				.sql`select due_at from trigger_state where trigger_id = ${trg.id} and due_at is not null`;
			return rows.length > 0 ? rows : undefined;
		}).catch(async (error) => {
			const rows = await t.db
				.sql`select decision, reason, at from trigger_decisions where trigger_id = ${trg.id}`;
			throw new Error(`${error}\n${JSON.stringify(rows)}\n${first.output()}`);
		});
		first.child.kill("SIGKILL");
		await first.child.exited;
		expect((await fires(trg.id)).length).toBe(0);
		const second = herald(["processor"], env);
		const [fire] = await eventually(async () => {
			const f = await fires(trg.id);
			return f.length > 0 ? f : undefined;
		}).catch(async (error) => {
			throw new Error(`${error}\n${second.output()}`);
		});
		second.child.kill("SIGKILL");
		await second.child.exited;
		const [event] = await t.db
			.sql`select occurred_at, received_at from ingested_events where source_id = ${s.id}`;
		return {
			fire: fire!,
			dueAt: state!.due_at as Date,
			event: event as { occurred_at: Date; received_at: Date },
		};
	}

	test("a window-close timer (count below) fires after the processor was killed", async () => {
		const { fire, dueAt, event } = await timerAfterKill("beat.a", {
			count: { mode: "tumbling", windowSeconds: 3, threshold: 1, when: "below" },
		});
		// The heartbeat's window [3k, 3k+3) reached 1; the next one closes empty at 3k + 6 s: the
		// timer's instant, not the restart's.
		const k = Math.floor(event.occurred_at.getTime() / 3000);
		expect(fire.fired_at.getTime()).toBe((k + 2) * 3000);
		expect(dueAt.getTime()).toBe((k + 1) * 3000); // the first timer: the heartbeat's window closes
	}, 60_000);

	test("a pending `for:` timer fires after the processor was killed", async () => {
		const { fire, event } = await timerAfterKill("hold.a", { hold: { forSeconds: 4 } });
		expect(fire.fired_at.getTime()).toBe(event.received_at.getTime() + 4000);
	}, 60_000);
});
