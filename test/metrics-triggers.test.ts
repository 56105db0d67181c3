/**
 * The processor's metrics over real PostgreSQL: a committed batch counts its
 * fires, condition errors, decisions by decision, events folded and its
 * duration; the lag gauges (read at scrape time from the newest ingested event
 * and the slowest partition's checkpoint) show the events not yet folded and
 * the age of the oldest, and return to 0 once the processor caught up. The
 * scrape passes promtool.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createLogger } from "../src/infra/log.ts";
import { scrape } from "../src/infra/metrics.ts";
import { startProcessor } from "../src/triggers/processor.ts";
import { DEFAULT_TRIGGER_SETTINGS } from "../src/triggers/settings.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { promtoolCheck, samplesOf, sumOf } from "./support/metrics.ts";
import { type Registered, register } from "./support/tokens.ts";

let t: TestApp;
let alice: Registered;

beforeAll(async () => {
	t = await startTestApp();
	alice = await register(t);
});
afterAll(async () => {
	await t.stop();
});

const counters = async () => {
	const text = await scrape();
	return {
		fires: sumOf(text, "herald_trigger_fires_total"),
		errors: sumOf(text, "herald_trigger_condition_errors_total"),
		fire: sumOf(text, "herald_trigger_decisions_total", { decision: "fire" }),
		conditionFalse: sumOf(text, "herald_trigger_decisions_total", { decision: "condition_false" }),
		conditionError: sumOf(text, "herald_trigger_decisions_total", { decision: "condition_error" }),
		folded: sumOf(text, "herald_trigger_processor_events_folded_total"),
		batches: sumOf(text, "herald_trigger_processor_batch_duration_seconds_count"),
	};
};
const lag = async () => {
	const text = await scrape();
	return {
		events: samplesOf(text, "herald_trigger_processor_lag_events")[0]?.value,
		seconds: samplesOf(text, "herald_trigger_processor_lag_seconds")[0]?.value,
	};
};

describe("trigger metrics", () => {
	test("a batch counts fires, condition errors, decisions and events; the lag shows and clears", async () => {
		const source = (
			await t.request("POST", "/api/v1/sources", { token: alice.accessToken, body: { name: "m" } })
		).body;
		const created = await t.request("POST", "/api/v1/triggers", {
			token: alice.accessToken,
			body: {
				name: "metrics",
				eventTypes: ["m.score"],
				condition: "data.v > 10",
				key: "data.agent",
				action: { kind: "webhook", url: "https://example.com/h" },
			},
		});
		expect(created.status).toBe(201);
		const before = await counters();
		const processor = await startProcessor({
			sql: t.db.sql,
			log: createLogger("warn"),
			settings: DEFAULT_TRIGGER_SETTINGS,
			loop: false,
		});
		try {
			await processor.pass(); // checkpoints at the (empty) horizon
			expect(await lag()).toEqual({ events: 0, seconds: 0 });
			const ingested = await t.request("POST", "/api/v1/ingest", {
				headers: { authorization: `Bearer ${source.key}` },
				body: {
					events: [
						{ type: "m.score", externalId: "1", data: { agent: "a", v: 20 } },
						{ type: "m.score", externalId: "2", data: { agent: "b", v: 5 } },
						{ type: "m.score", externalId: "3", data: { agent: "c", v: "not a number" } },
					],
				},
			});
			expect(ingested.status).toBe(200);
			const behind = await lag();
			expect(behind.events).toBe(3);
			expect(behind.seconds).toBeGreaterThan(0);

			await processor.pass();
			const after = await counters();
			const delta = Object.fromEntries(
				Object.entries(after).map(([k, v]) => [k, v - before[k as keyof typeof before]]),
			);
			expect(delta).toMatchObject({
				fires: 1,
				errors: 1,
				fire: 1,
				conditionFalse: 1,
				conditionError: 1,
				folded: 3,
			});
			expect(delta.batches).toBeGreaterThanOrEqual(1);
			const [fires] = await t.db.sql<{ n: number }[]>`select count(*)::int as n from trigger_fires`;
			expect(fires!.n).toBe(1);
			expect(await lag()).toEqual({ events: 0, seconds: 0 });
			const { code, output } = await promtoolCheck(await scrape());
			expect({ code, output }).toEqual({ code: 0, output: "" });
		} finally {
			await processor.stop();
		}
	});
});
