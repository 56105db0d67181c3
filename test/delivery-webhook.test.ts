/**
 * The delivery workflow against real webhook receivers on 127.0.0.1, with a
 * real worker (senders, Redis guard), PostgreSQL and Temporal: retries keep
 * one idempotency key and a valid signature; a 4xx ends the delivery at once;
 * when attempts run out the delivery is failed; every attempt is recorded.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createNotification } from "../src/notifications/repository.ts";
import { verifyWebhookSignature } from "../src/outbound/senders/webhook.ts";
import type { DeliveryReport } from "../workflows/delivery.ts";
import { workflowIds } from "../workflows/kit/ids.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type DeliveryKit, deliveryKit, FAST_DELIVERY } from "./support/delivery.ts";
import { type Responder, startWebhookReceiver, type WebhookReceiver } from "./support/receivers.ts";
import { type Registered, register } from "./support/tokens.ts";

let t: TestApp;
let kit: DeliveryKit;
let actors: Actors;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
	t = await startTestApp(FAST_DELIVERY);
	kit = await deliveryKit();
	actors = await startActors(t.db.sql, "delivery", { delivery: kit.deps });
});

afterAll(async () => {
	for (const r of receivers) r.stop();
	await actors.stop();
	await kit.close();
	await t.stop();
});

function receiver(respond: Responder): WebhookReceiver {
	const r = startWebhookReceiver(respond);
	receivers.push(r);
	return r;
}

async function webhook(user: Registered, url: string): Promise<{ id: string; secret: string }> {
	const res = await t.request("POST", "/api/v1/channels", {
		token: user.accessToken,
		body: { kind: "webhook", url, headers: { Authorization: "Bearer hook-token-123" } },
	});
	expect(res.status).toBe(201);
	return { id: res.body.id, secret: res.body.secret };
}

async function deliver(user: Registered): Promise<{ notificationId: string; report: DeliveryReport }> {
	const { row } = await createNotification(t.db.sql, {
		userId: user.userId,
		kind: "test",
		title: "Build finished",
		body: "All green.",
		data: { build: 42 },
		dedupeKey: crypto.randomUUID(),
	});
	const report = await actors.temporal.client.workflow.execute("deliverNotification", {
		workflowId: workflowIds.delivery(row.id),
		taskQueue: actors.taskQueue,
		args: [{ notificationId: row.id }],
	});
	return { notificationId: row.id, report: report as DeliveryReport };
}

const attemptRows = (deliveryId: string) =>
	t.db.sql<{ attempt: number; outcome: string | null; status_code: number | null; error: string | null }[]>`
		select attempt, outcome, status_code, error from delivery_attempts where delivery_id = ${deliveryId} order by id`;

describe("webhook delivery", () => {
	test("three 500s then 200: one accepted effect, one key, valid signatures, four attempts recorded", async () => {
		const r = receiver((_call, i) => new Response(i < 3 ? "boom" : "ok", { status: i < 3 ? 500 : 200 }));
		const user = await register(t);
		const hook = await webhook(user, `${r.url}/hooks/herald?token=s3cret-query`);
		const { notificationId, report } = await deliver(user);
		expect(report.deliveries).toEqual([
			{ deliveryId: expect.any(String), kind: "webhook", status: "delivered" },
		]);
		const deliveryId = report.deliveries[0]!.deliveryId;
		const [row] = await t.db.sql`select * from deliveries where id = ${deliveryId}`;
		expect(row).toMatchObject({ status: "delivered", attempts: 4, notification_id: notificationId });

		expect(r.calls).toHaveLength(4);
		expect(new Set(r.calls.map((c) => c.idempotencyKey))).toEqual(new Set([row!.idempotency_key]));
		expect(r.acceptedKeys()).toEqual([row!.idempotency_key]);
		expect([...r.effects.values()]).toEqual([1]);
		for (const [i, call] of r.calls.entries()) {
			expect(
				verifyWebhookSignature(hook.secret, call.headers, call.body, { toleranceSeconds: 300 }),
			).toMatchObject({
				ok: true,
			});
			expect(call.headers.get("x-herald-attempt")).toBe(String(i + 1));
			expect(call.headers.get("authorization")).toBe("Bearer hook-token-123");
			expect(JSON.parse(call.body)).toMatchObject({
				id: deliveryId,
				notification: { notificationId, title: "Build finished", data: { build: 42 } },
			});
		}

		const attempts = await attemptRows(deliveryId);
		expect(attempts.map((a) => [a.attempt, a.outcome, a.status_code])).toEqual([
			[1, "retryable", 500],
			[2, "retryable", 500],
			[3, "retryable", 500],
			[4, "ok", 200],
		]);
		const page = await t.request("GET", "/api/v1/deliveries", { token: user.accessToken });
		expect(page.status).toBe(200);
		expect(page.body.total).toBe(1);
		const [item] = page.body.items;
		expect(item).toMatchObject({
			id: deliveryId,
			notificationId,
			channelId: hook.id,
			channelKind: "webhook",
			status: "delivered",
			attemptCount: 4,
			lastError: null,
		});
		expect(item.attempts.map((a: { outcome: string }) => a.outcome)).toEqual([
			"retryable",
			"retryable",
			"retryable",
			"ok",
		]);
		expect(item.attempts[0].destination).toBe(r.url);
		const text = JSON.stringify(page.body);
		for (const secret of [hook.secret, "s3cret-query", "hook-token-123"]) expect(text).not.toContain(secret);
		const stranger = await register(t);
		expect((await t.request("GET", "/api/v1/deliveries", { token: stranger.accessToken })).body).toEqual({
			items: [],
			total: 0,
		});
	}, 30_000);

	test("a 404 target fails after one attempt (non-retryable); the user's other channel still gets it", async () => {
		const gone = receiver(() => new Response("no such hook", { status: 404 }));
		const fine = receiver(() => new Response(null, { status: 204 }));
		const user = await register(t);
		await webhook(user, `${gone.url}/missing`);
		await webhook(user, `${fine.url}/ok`);
		const { report } = await deliver(user);
		expect(report.deliveries.map((d) => d.status)).toEqual(["failed", "delivered"]);
		expect(gone.calls).toHaveLength(1);
		expect(fine.calls).toHaveLength(1);
		const failed = report.deliveries[0]!.deliveryId;
		expect((await attemptRows(failed)).map((a) => [a.attempt, a.outcome, a.status_code])).toEqual([
			[1, "permanent", 404],
		]);
		const page = await t.request("GET", "/api/v1/deliveries?status=failed", { token: user.accessToken });
		expect(page.body.items).toHaveLength(1);
		expect(page.body.items[0]).toMatchObject({ id: failed, status: "failed", attemptCount: 1 });
		expect(page.body.items[0].lastError).toContain("404");
	}, 30_000);

	test("attempts run out: the delivery is failed; the open circuit kept the last attempt off the receiver", async () => {
		const down = receiver(() => new Response("down", { status: 503 }));
		const user = await register(t);
		await webhook(user, `${down.url}/down`);
		const { report } = await deliver(user);
		expect(report.deliveries.map((d) => d.status)).toEqual(["failed"]);
		const deliveryId = report.deliveries[0]!.deliveryId;
		const attempts = await attemptRows(deliveryId);
		// DELIVERY_RETRY_MAX_ATTEMPTS=6; BREAKER_FAILURES=5 opens the circuit after the fifth 503.
		expect(attempts.map((a) => a.outcome)).toEqual([
			"retryable",
			"retryable",
			"retryable",
			"retryable",
			"retryable",
			"circuit_open",
		]);
		expect(down.calls).toHaveLength(5);
		const [row] = await t.db.sql`select status, last_error from deliveries where id = ${deliveryId}`;
		expect(row!.status).toBe("failed");
		expect(row!.last_error).toContain("circuit open");
	}, 30_000);

	test("a disabled channel receives nothing; a deleted channel takes its deliveries with it", async () => {
		const r = receiver(() => new Response("ok"));
		const user = await register(t);
		const hook = await webhook(user, `${r.url}/ok`);
		await t.request("PATCH", `/api/v1/channels/${hook.id}`, {
			token: user.accessToken,
			body: { enabled: false },
		});
		expect((await deliver(user)).report.deliveries).toEqual([]);
		await t.request("PATCH", `/api/v1/channels/${hook.id}`, {
			token: user.accessToken,
			body: { enabled: true },
		});
		expect((await deliver(user)).report.deliveries.map((d) => d.status)).toEqual(["delivered"]);
		expect(
			(await t.request("DELETE", `/api/v1/channels/${hook.id}`, { token: user.accessToken })).status,
		).toBe(204);
		expect((await t.request("GET", "/api/v1/deliveries", { token: user.accessToken })).body.total).toBe(0);
		expect(r.calls).toHaveLength(1);
	}, 30_000);
});
