/**
 * An event reminder leaves the building: REST sets up the event, the
 * registration and three channels (a webhook, a verified email address, a
 * Telegram chat); the bridge wakes the event actor, its timer fires, and the
 * reminder's `delivery:<id>` child workflow reaches a webhook receiver, an
 * SMTP server and a Telegram Bot API stand-in, all on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { BridgeHandle } from "../src/bridge/bridge.ts";
import { verifyWebhookSignature } from "../src/outbound/senders/webhook.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type DeliveryKit, deliveryKit, FAST_DELIVERY } from "./support/delivery.ts";
import {
	type SmtpStandIn,
	startSmtpStandIn,
	startTelegramStandIn,
	startWebhookReceiver,
	type TelegramStandIn,
	type WebhookReceiver,
} from "./support/receivers.ts";
import { register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

let t: TestApp;
let kit: DeliveryKit;
let actors: Actors;
let bridge: BridgeHandle;
let smtp: SmtpStandIn;
let telegram: TelegramStandIn;
let hook: WebhookReceiver;

beforeAll(async () => {
	smtp = await startSmtpStandIn();
	telegram = startTelegramStandIn();
	hook = startWebhookReceiver(() => new Response("ok"));
	const env = {
		...FAST_DELIVERY,
		SMTP_HOST: "127.0.0.1",
		SMTP_PORT: String(smtp.port),
		TELEGRAM_API_URL: telegram.apiUrl,
		TELEGRAM_BOT_TOKEN: telegram.token,
	};
	t = await startTestApp(env);
	kit = await deliveryKit(env);
	actors = await startActors(t.db.sql, "reminder-delivery", { delivery: kit.deps });
	bridge = await actors.bridge(t.db.sql, 5000);
});

afterAll(async () => {
	await bridge.stop();
	await actors.stop();
	await kit.close();
	await t.stop();
	hook.stop();
	telegram.stop();
	await smtp.stop();
});

const post = (token: string, path: string, body?: unknown) => t.request("POST", path, { token, body });

describe("event reminder delivery", () => {
	test("a short-offset reminder reaches the webhook, the SMTP server and the Telegram chat", async () => {
		const owner = await register(t);
		const guest = await register(t);
		const address = `${crypto.randomUUID()}@example.test`;
		const webhook = await post(guest.accessToken, "/api/v1/channels", {
			kind: "webhook",
			url: `${hook.url}/r`,
		});
		expect(webhook.status).toBe(201);
		const email = await post(guest.accessToken, "/api/v1/channels", { kind: "email", address });
		const code = await eventually(() => smtp.codeFor(address), { what: "the verification code" });
		expect((await post(guest.accessToken, `/api/v1/channels/${email.body.id}/verify`, { code })).status).toBe(
			200,
		);
		expect(
			(await post(guest.accessToken, "/api/v1/channels", { kind: "telegram", chatId: "4242" })).status,
		).toBe(201);

		const startsAt = new Date(Date.now() + 6_000);
		const event = await post(owner.accessToken, "/api/v1/events", {
			title: "Harbour swim",
			startsAt: startsAt.toISOString(),
			endsAt: new Date(startsAt.getTime() + 3600_000).toISOString(),
			capacity: 5,
			reminderOffsets: [2],
		});
		expect(event.status).toBe(201);
		expect((await post(guest.accessToken, `/api/v1/events/${event.body.id}/participants`)).status).toBe(201);

		const page = await eventually(
			async () => {
				const res = await t.request("GET", "/api/v1/deliveries", { token: guest.accessToken });
				return res.body.total === 3 &&
					res.body.items.every((d: { status: string }) => d.status === "delivered")
					? res.body
					: undefined;
			},
			{ timeoutMs: 20_000, what: "three delivered deliveries" },
		);
		const notificationId = page.items[0].notificationId;
		expect(page.items.map((d: { notificationId: string }) => d.notificationId)).toEqual([
			notificationId,
			notificationId,
			notificationId,
		]);
		expect(page.items.map((d: { channelKind: string }) => d.channelKind).sort()).toEqual([
			"email",
			"telegram",
			"webhook",
		]);

		expect(hook.calls).toHaveLength(1);
		const call = hook.calls[0]!;
		expect(
			verifyWebhookSignature(webhook.body.secret, call.headers, call.body, { toleranceSeconds: 300 }).ok,
		).toBe(true);
		expect(JSON.parse(call.body).notification).toMatchObject({
			notificationId,
			kind: "event_reminder",
			data: { eventId: event.body.id, offsetSeconds: 2 },
		});
		const reminderMail = smtp.messages.filter(
			(m) => m.to.includes(address) && m.raw.includes("Harbour swim"),
		);
		expect(reminderMail).toHaveLength(1);
		expect(reminderMail[0]!.raw).toContain("Reminder: Harbour swim starts in 2 s");
		expect(telegram.messages).toEqual([{ chat_id: "4242", text: expect.stringContaining("Harbour swim") }]);

		const handle = actors.temporal.client.workflow.getHandle(`delivery:${notificationId}`);
		expect((await handle.result()).deliveries.map((d: { status: string }) => d.status)).toEqual([
			"delivered",
			"delivered",
			"delivered",
		]);
		expect((await handle.describe()).parentExecution?.workflowId).toBe(`event:${event.body.id}`);
	}, 40_000);

	test("a waitlisted guest promoted when a place frees up hears about it on their webhook", async () => {
		const owner = await register(t);
		const first = await register(t);
		const waiting = await register(t);
		const receiver = startWebhookReceiver(() => new Response(null, { status: 204 }));
		try {
			await post(waiting.accessToken, "/api/v1/channels", { kind: "webhook", url: `${receiver.url}/w` });
			const startsAt = new Date(Date.now() + 24 * 3600_000);
			const event = await post(owner.accessToken, "/api/v1/events", {
				title: "Sold-out workshop",
				startsAt: startsAt.toISOString(),
				endsAt: new Date(startsAt.getTime() + 3600_000).toISOString(),
				capacity: 1,
			});
			const placed = await post(first.accessToken, `/api/v1/events/${event.body.id}/participants`);
			const queued = await post(waiting.accessToken, `/api/v1/events/${event.body.id}/participants`);
			expect(queued.body.status).toBe("waitlisted");
			const cancelled = await t.request(
				"DELETE",
				`/api/v1/events/${event.body.id}/participants/${placed.body.id}`,
				{
					token: first.accessToken,
				},
			);
			expect(cancelled.status).toBe(204);
			const call = await eventually(() => receiver.calls[0], {
				timeoutMs: 15_000,
				what: "the promotion webhook",
			});
			expect(JSON.parse(call.body).notification).toMatchObject({
				kind: "waitlist_promoted",
				data: { eventId: event.body.id, participantId: queued.body.id },
			});
			const page = await eventually(async () => {
				const res = await t.request("GET", "/api/v1/deliveries", { token: waiting.accessToken });
				return res.body.items[0]?.status === "delivered" ? res.body : undefined;
			});
			expect(page.total).toBe(1);
			expect(receiver.calls).toHaveLength(1);
		} finally {
			receiver.stop();
		}
	}, 30_000);
});
