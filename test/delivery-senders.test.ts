/** Sender wiring and the small pure pieces: Retry-After, protected headers, config → settings. */
import { expect, test } from "bun:test";
import { loadConfig } from "../src/config.ts";
import { parseRetryAfter } from "../src/outbound/senders/http.ts";
import { createSenders, senderSettings } from "../src/outbound/senders/index.ts";
import { isProtectedHeader, signWebhook, verifyWebhookSignature } from "../src/outbound/senders/webhook.ts";
import { DeliveryFailed, type DeliveryRequest } from "../src/outbound/types.ts";

test("Retry-After: seconds, HTTP date, garbage", () => {
	const now = Date.parse("2026-01-01T00:00:00Z");
	expect(parseRetryAfter("7", now)).toBe(7000);
	expect(parseRetryAfter(" 0 ", now)).toBe(0);
	expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
	expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
	expect(parseRetryAfter("soon", now)).toBeUndefined();
	expect(parseRetryAfter("-5", now)).toBeUndefined();
	expect(parseRetryAfter(null, now)).toBeUndefined();
});

test("protected webhook headers", () => {
	for (const name of ["Content-Type", "idempotency-key", "X-Herald-Signature", "x-herald-anything", "Host"])
		expect([name, isProtectedHeader(name)]).toEqual([name, true]);
	for (const name of ["Authorization", "X-Api-Key"])
		expect([name, isProtectedHeader(name)]).toEqual([name, false]);
});

test("signatures: known vector, rotation list, malformed input", () => {
	const signature = signWebhook("secret", 1_700_000_000, '{"a":1}');
	expect(signature).toBe(
		`v1=${new Bun.CryptoHasher("sha256", "secret").update('1700000000.{"a":1}').digest("hex")}`,
	);
	const now = 1_700_000_000_000;
	const headers = {
		"X-Herald-Timestamp": "1700000000",
		"X-Herald-Signature": `v1=${"0".repeat(64)}, ${signature}`,
	};
	expect(verifyWebhookSignature("secret", headers, '{"a":1}', { toleranceSeconds: 300, now }).ok).toBe(true);
	const bad = { ...headers, "X-Herald-Signature": "sha1=abc" };
	expect(verifyWebhookSignature("secret", bad, '{"a":1}', { toleranceSeconds: 300, now })).toEqual({
		ok: false,
		reason: "malformed",
	});
});

test("createSenders from the config: one sender per kind, each refusing the others' targets", async () => {
	const config = loadConfig({}, { TELEGRAM_BOT_TOKEN: "1:abc", SMTP_USER: "u", SMTP_PASSWORD: "p" });
	const settings = senderSettings(config.delivery);
	expect(settings).toMatchObject({ smtpUser: "u", smtpPassword: "p", telegramBotToken: "1:abc" });
	expect(settings.webhookAllowPrivate).toEqual([]);
	const senders = createSenders(settings);
	const request: DeliveryRequest = {
		deliveryId: "d",
		attempt: 1,
		idempotencyKey: "k",
		target: { kind: "telegram", chatId: "1" },
		message: { notificationId: "n", userId: "u", kind: "k", title: "t", body: "b", data: {}, createdAt: "" },
	};
	for (const kind of ["webhook", "email"] as const) {
		const error = await senders[kind](request).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(DeliveryFailed);
		expect((error as DeliveryFailed).options.reason).toBe("wrong_channel");
	}
	await senders.close();
});

test("a malformed CIDR in WEBHOOK_ALLOW_PRIVATE fails when the senders are built", () => {
	const config = loadConfig({}, { WEBHOOK_ALLOW_PRIVATE: "127.0.0.1, 10.0.0.0/33" });
	expect(() => createSenders(senderSettings(config.delivery))).toThrow("10.0.0.0/33");
});
