/**
 * Action runs end to end on real parts: events ingested, folded by the
 * processor, each fire's outbox row taken by the bridge to a Temporal
 * workflow `action:<fireKey>` whose webhook (the outbound sender: HMAC,
 * idempotency key, SSRF guard, shared breaker) reaches a local receiver;
 * 5xx is retried under one key; a 4xx ends the run failed; every attempt is
 * on `GET /api/v1/triggers/:id/runs` (another user's: 404) and counted in
 * `herald_trigger_action_runs_total{kind,outcome}` (success | retry | terminal).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { temporal } from "@temporalio/proto";
import { spreadOf } from "../activities/triggers/index.ts";
import { scrape } from "../src/infra/metrics.ts";
import { verifyWebhookSignature } from "../src/outbound/senders/webhook.ts";
import type { Actors } from "./support/actors.ts";
import type { TestApp } from "./support/app.ts";
import { sumOf } from "./support/metrics.ts";
import { type Responder, startWebhookReceiver, type WebhookReceiver } from "./support/receivers.ts";
import { type Registered, register } from "./support/tokens.ts";
import { startTriggerStack, type TriggerStack } from "./support/trigger-stack.ts";
import { eventually } from "./support/wait.ts";

const receivers: WebhookReceiver[] = [];

let stack: TriggerStack;
let t: TestApp;
let actors: Actors;
let alice: Registered;

beforeAll(async () => {
	stack = await startTriggerStack("triggers");
	({ t, actors, alice } = stack);
});
afterAll(async () => {
	for (const r of receivers) r.stop();
	await stack.stop();
});
function receiver(respond: Responder): WebhookReceiver {
	const r = startWebhookReceiver(respond);
	receivers.push(r);
	return r;
}
const source = async () =>
	(await t.request("POST", "/api/v1/sources", { token: alice.accessToken, body: { name: "s" } })).body;
const ingest = (key: string, events: unknown[]) =>
	t.request("POST", "/api/v1/ingest", { body: { events }, headers: { authorization: `Bearer ${key}` } });
/** This process's action-run counters (the worker runs in it), by outcome, for one kind. */
const actionRuns = async (kind: string) => {
	const text = await scrape();
	const of = (outcome: string) => sumOf(text, "herald_trigger_action_runs_total", { kind, outcome });
	return { success: of("success"), retry: of("retry"), terminal: of("terminal") };
};
const delta = (a: Record<string, number>, b: Record<string, number>) =>
	Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]));
const runs = async (id: string, token = alice.accessToken) => {
	const res = await t.request("GET", `/api/v1/triggers/${id}/runs`, { token });
	if (res.status !== 200 && token === alice.accessToken)
		throw new Error(`runs: ${res.status} ${JSON.stringify(res.body)}`);
	return res;
};

describe("webhook actions", () => {
	test("two 500s then 200: one run, one idempotency key, signed rendered payload, three attempts recorded", async () => {
		const r = receiver((_c, i) => new Response(i < 2 ? "boom" : "ok", { status: i < 2 ? 500 : 200 }));
		const counted = await actionRuns("webhook");
		const s = await source();
		const created = await t.request("POST", "/api/v1/triggers", {
			token: alice.accessToken,
			body: {
				name: "alert",
				eventTypes: ["agent.feedback"],
				condition: "data.score < 3",
				action: {
					kind: "webhook",
					url: `${r.url}/hook`,
					body: { score: "{{data.score}}", agent: "{{data.agent}}", fire: "{{fire.key}}" },
				},
			},
		});
		expect(created.status).toBe(201);
		expect(created.body.webhookSecret).toMatch(/^whsec_/);
		expect(created.body.action).toMatchObject({ hasSecret: true });
		expect(
			JSON.stringify(
				(await t.request("GET", `/api/v1/triggers/${created.body.id}`, { token: alice.accessToken })).body,
			),
		).not.toContain(created.body.webhookSecret);
		await ingest(s.key, [
			{ type: "agent.feedback", externalId: "f1", data: { score: 1, agent: "a7" } },
			{ type: "agent.feedback", externalId: "f2", data: { score: 5, agent: "a7" } },
		]);
		const [run] = await eventually(
			async () => {
				const res = await runs(created.body.id);
				return res.body.items.length === 1 && res.body.items[0].status === "succeeded"
					? res.body.items
					: undefined;
			},
			{ timeoutMs: 30_000 },
		);
		expect(
			run.attempts.map((a: { outcome: string; statusCode: number }) => [a.outcome, a.statusCode]),
		).toEqual([
			["retryable", 500],
			["retryable", 500],
			["ok", 200],
		]);
		expect(r.calls).toHaveLength(3);
		expect(new Set(r.calls.map((c) => c.idempotencyKey))).toEqual(new Set([run.fireKey]));
		for (const call of r.calls) {
			expect(
				verifyWebhookSignature(created.body.webhookSecret, call.headers, call.body, {
					toleranceSeconds: 300,
				}),
			).toMatchObject({ ok: true });
			expect(JSON.parse(call.body)).toEqual({ score: 1, agent: "a7", fire: run.fireKey });
		}
		const handle = actors.temporal.client.workflow.getHandle(`action:${run.fireKey}`);
		expect(await handle.result()).toEqual({ status: "succeeded" });
		expect(delta(counted, await actionRuns("webhook"))).toEqual({ success: 1, retry: 2, terminal: 0 });
		// The run's shape: start and settle are local activities (markers), the spread is waited in
		// the first attempt (no timer), so the attempt is the run's one activity task.
		const events = (await handle.fetchHistory()).events ?? [];
		const E = temporal.api.enums.v1.EventType;
		expect(
			events.flatMap((e) =>
				e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
					? [e.activityTaskScheduledEventAttributes?.activityType?.name]
					: [],
			),
		).toEqual(["triggers.attemptAction"]);
		expect(events.filter((e) => e.eventType === E.EVENT_TYPE_TIMER_STARTED)).toHaveLength(0);
		expect(events.filter((e) => e.eventType === E.EVENT_TYPE_MARKER_RECORDED).length).toBeGreaterThanOrEqual(
			2,
		);
		// The first attempt left no earlier than the fire's spread after the run started (one clock).
		const [times] = await t.db.sql<{ gap_ms: number }[]>`
			select extract(epoch from (min(a.started_at) - r.started_at)) * 1000 as gap_ms
			from action_runs r join trigger_fires f on f.id = r.fire_id join action_attempts a on a.fire_id = f.id
			where f.fire_key = ${run.fireKey} group by r.started_at`;
		expect(Number(times!.gap_ms)).toBeGreaterThanOrEqual(spreadOf(run.fireKey) - 5);
	}, 60_000);

	test("a 4xx ends the run failed at once; BOLA: another user's runs are 404", async () => {
		const r = receiver(() => new Response("no", { status: 410 }));
		const counted = await actionRuns("webhook");
		const s = await source();
		const created = await t.request("POST", "/api/v1/triggers", {
			token: alice.accessToken,
			body: {
				name: "gone",
				eventTypes: ["x.gone"],
				condition: "true",
				action: { kind: "webhook", url: `${r.url}/h`, secret: "0123456789abcdef-secret" },
			},
		});
		await ingest(s.key, [{ type: "x.gone", externalId: "g1", data: {} }]);
		const [run] = await eventually(
			async () => {
				const res = await runs(created.body.id);
				return res.body.items[0]?.status === "failed" ? res.body.items : undefined;
			},
			{ timeoutMs: 30_000 },
		);
		expect(run.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["permanent"]);
		expect(run.error).toContain("410");
		expect(delta(counted, await actionRuns("webhook"))).toEqual({ success: 0, retry: 0, terminal: 1 });
		const mallory = await register(t);
		expect((await runs(created.body.id, mallory.accessToken)).status).toBe(404);
	}, 60_000);

	test("rateLimit throttles the runs (effect's RateLimiter on Redis): the second waits, none is dropped", async () => {
		const r = receiver(() => new Response("ok"));
		const s = await source();
		const created = await t.request("POST", "/api/v1/triggers", {
			token: alice.accessToken,
			body: {
				name: "throttled",
				eventTypes: ["x.throttle"],
				condition: "true",
				clauses: { rateLimit: { limit: 1, windowSeconds: 1 } },
				action: { kind: "webhook", url: `${r.url}/h` },
			},
		});
		expect(created.status).toBe(201);
		await ingest(s.key, [
			{ type: "x.throttle", externalId: "t1", data: {} },
			{ type: "x.throttle", externalId: "t2", data: {} },
		]);
		const items = await eventually(
			async () => {
				const res = await runs(created.body.id);
				const done = res.body.items.filter((x: { status: string }) => x.status === "succeeded");
				return done.length === 2 ? done : undefined;
			},
			{ timeoutMs: 30_000 },
		);
		const outcomes = items.map((x: { attempts: { outcome: string }[] }) => x.attempts.map((a) => a.outcome));
		expect(outcomes.flat().filter((o: string) => o === "rate_limited").length).toBeGreaterThan(0);
		expect(outcomes.every((o: string[]) => o.at(-1) === "ok")).toBe(true);
		expect(r.calls).toHaveLength(2);
	}, 60_000);
});
