/**
 * A worker killed in the middle of a delivery: the worker runs in a child
 * process (test/fixtures/delivery-worker.ts); the webhook receiver holds the
 * first request open; the process is SIGKILLed while that request is in
 * flight. A new worker on the same task queue picks the delivery up after the
 * attempt's time limit, and the receiver — which deduplicates on the
 * idempotency key — applies the effect exactly once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connectTemporalClient, type TemporalClientHandle } from "../src/infra/temporal/client.ts";
import { createNotification } from "../src/notifications/repository.ts";
import type { DeliveryReport } from "../workflows/delivery.ts";
import { workflowIds } from "../workflows/kit/ids.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type DeliveryKit, deliveryKit, FAST_DELIVERY, spawnDeliveryWorker } from "./support/delivery.ts";
import { testEnv } from "./support/env.ts";
import { hangingFirstCall, type WebhookReceiver } from "./support/receivers.ts";
import { register } from "./support/tokens.ts";

let t: TestApp;
let kit: DeliveryKit;
let temporal: TemporalClientHandle;
let receiver: WebhookReceiver;
let actors: Actors | undefined;
let child: ReturnType<typeof Bun.spawn> | undefined;
let firstRequest: Promise<void>;

beforeAll(async () => {
	({ receiver, firstRequest } = hangingFirstCall());
	t = await startTestApp(FAST_DELIVERY);
	kit = await deliveryKit();
	const env = await testEnv();
	temporal = await connectTemporalClient({ address: env.temporalAddress, namespace: "default" });
});

afterAll(async () => {
	if (child && child.exitCode === null) child.kill("SIGKILL");
	await actors?.stop();
	await temporal.close();
	await kit.close();
	receiver.stop();
	await t.stop();
});

const spawnWorker = (taskQueue: string) => spawnDeliveryWorker(kit, t.db.url, taskQueue);

describe("a worker killed mid-delivery", () => {
	test("the next worker completes the delivery; the receiver applies it once", async () => {
		const taskQueue = `test-crash-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
		const user = await register(t);
		const channel = await t.request("POST", "/api/v1/channels", {
			token: user.accessToken,
			body: { kind: "webhook", url: `${receiver.url}/crash` },
		});
		expect(channel.status).toBe(201);
		const { row } = await createNotification(t.db.sql, {
			userId: user.userId,
			kind: "test",
			title: "Survives a crash",
			dedupeKey: crypto.randomUUID(),
		});

		child = await spawnWorker(taskQueue);
		const handle = await temporal.client.workflow.start("deliverNotification", {
			workflowId: workflowIds.delivery(row.id),
			taskQueue,
			args: [{ notificationId: row.id }],
		});
		await firstRequest; // the child's attempt 1 is now in flight, held open by the receiver
		child.kill("SIGKILL");
		expect(await child.exited).not.toBe(0);
		expect(child.signalCode).toBe("SIGKILL");

		actors = await startActors(t.db.sql, "crash", { delivery: kit.deps, taskQueue });
		const report = (await handle.result()) as DeliveryReport;
		expect(report.deliveries.map((d) => d.status)).toEqual(["delivered"]);

		const [delivery] = await t.db.sql`select * from deliveries where notification_id = ${row.id}`;
		expect(delivery!.status).toBe("delivered");
		expect(receiver.calls).toHaveLength(2);
		expect(receiver.calls.map((c) => c.idempotencyKey)).toEqual([
			delivery!.idempotency_key,
			delivery!.idempotency_key,
		]);
		expect(receiver.calls.map((c) => c.headers.get("x-herald-attempt"))).toEqual(["1", "2"]);
		expect(receiver.acceptedKeys()).toEqual([delivery!.idempotency_key]); // one effect per key
		expect(receiver.effects.get(delivery!.idempotency_key)).toBe(1);
		const attempts = await t.db.sql<{ attempt: number; outcome: string | null }[]>`
			select attempt, outcome from delivery_attempts where delivery_id = ${delivery!.id} order by id`;
		// The killed attempt never recorded an outcome; the next one did.
		expect(attempts.map((a) => [a.attempt, a.outcome])).toEqual([
			[1, null],
			[2, "ok"],
		]);
	}, 90_000);
});
