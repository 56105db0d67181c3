/**
 * A reminder's firing survives a worker killed mid-delivery: the worker runs
 * in a child process (test/fixtures/delivery-worker.ts, every workflow and
 * activity); the reminder fires there, its webhook delivery is held open by
 * the receiver, and the process is SIGKILLed. A new worker on the same task
 * queue finishes the delivery: one notification (key
 * `reminder:<id>:<occurrence>`), one effect at the receiver.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BridgeHandle, startBridge } from "../src/bridge/bridge.ts";
import { createLogger } from "../src/infra/log.ts";
import { connectTemporalClient, type TemporalClientHandle } from "../src/infra/temporal/client.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type DeliveryKit, deliveryKit, FAST_DELIVERY, spawnDeliveryWorker } from "./support/delivery.ts";
import { testEnv } from "./support/env.ts";
import { hangingFirstCall, type WebhookReceiver } from "./support/receivers.ts";
import { register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

let t: TestApp;
let kit: DeliveryKit;
let temporal: TemporalClientHandle;
let receiver: WebhookReceiver;
let bridge: BridgeHandle | undefined;
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
	await bridge?.stop();
	await actors?.stop();
	await temporal.close();
	await kit.close();
	receiver.stop();
	await t.stop();
});

describe("a worker killed while delivering a reminder", () => {
	test("the next worker completes it: one notification, one effect", async () => {
		const taskQueue = `test-rcrash-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
		const user = await register(t);
		const token = user.accessToken;
		const channel = await t.request("POST", "/api/v1/channels", {
			token,
			body: { kind: "webhook", url: `${receiver.url}/reminder` },
		});
		expect(channel.status).toBe(201);
		child = await spawnDeliveryWorker(kit, t.db.url, taskQueue);
		bridge = await startBridge({
			sql: t.db.sql,
			temporal: temporal.client,
			taskQueue,
			log: createLogger("warn"),
			pollIntervalMs: 1000,
		});
		const dueAt = new Date(Date.now() + 2000).toISOString().slice(0, 19);
		const created = await t.request("POST", "/api/v1/reminders", {
			token,
			body: { title: "Call Anna about the loan", dueAt, timeZone: "UTC" },
		});
		expect(created.status).toBe(201);
		const id = created.body.id as string;

		await firstRequest; // the child fired the reminder; its delivery attempt 1 is held open
		child.kill("SIGKILL");
		expect(await child.exited).not.toBe(0);
		actors = await startActors(t.db.sql, "rcrash", { delivery: kit.deps, taskQueue });

		const notifications = await t.db.sql<{ id: string; dedupe_key: string }[]>`
			select id, dedupe_key from notifications where user_id = ${user.userId}`;
		expect(notifications.map((n) => n.dedupe_key)).toEqual([`reminder:${id}:${dueAt}`]);
		const delivery = await eventually(
			async () => {
				const [d] = await t.db.sql`select * from deliveries where notification_id = ${notifications[0]!.id}`;
				return d?.status === "delivered" ? d : undefined;
			},
			{ timeoutMs: 60_000, what: "the delivery to finish on the new worker" },
		);
		expect(receiver.calls).toHaveLength(2);
		expect(receiver.acceptedKeys()).toEqual([delivery.idempotency_key]);
		expect(receiver.effects.get(delivery.idempotency_key)).toBe(1);
		const after = await t.db.sql`select count(*)::int as n from notifications where user_id = ${user.userId}`;
		expect(after[0]!.n).toBe(1);
		const reminder = await t.request("GET", `/api/v1/reminders/${id}`, { token });
		expect(reminder.body).toMatchObject({ status: "completed", nextFireAt: null });
	}, 90_000);
});
