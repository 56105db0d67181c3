/** Pure parts of delivery: stored destinations and errors carry no secrets; retry policies come from config. */
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../src/config.ts";
import { deliveryPolicies } from "../src/deliveries/policy.ts";
import { describeDestination, redactError } from "../src/deliveries/request.ts";
import type { ChannelTarget } from "../src/outbound/types.ts";

const hook = {
	kind: "webhook" as const,
	url: "https://hooks.example.com/services/T000/B000/XXXXSECRETPATH?token=qwerty123",
	headers: { Authorization: "Bearer abcdef123456" },
	secret: "whsec_0123456789abcdef",
} satisfies ChannelTarget;

describe("redaction", () => {
	test("a webhook's destination is its origin only", () => {
		expect(describeDestination(hook)).toBe("https://hooks.example.com");
		expect(describeDestination({ kind: "email", address: "ada@example.com" })).toBe("mailto:ada@example.com");
		expect(describeDestination({ kind: "telegram", chatId: "42" })).toBe("telegram:42");
	});

	test("secrets, header values, the URL's path and query, and worker secrets are removed", () => {
		const text = [
			`POST ${hook.url} failed`,
			"signed with whsec_0123456789abcdef",
			"auth Bearer abcdef123456",
			"path /services/T000/B000/XXXXSECRETPATH?token=qwerty123",
			"bot https://api.telegram.org/bot123:BOTTOKENVALUE/sendMessage",
		].join("; ");
		const out = redactError(text, hook, ["123:BOTTOKENVALUE"]);
		for (const secret of [
			"whsec_0123456789abcdef",
			"abcdef123456",
			"XXXXSECRETPATH",
			"qwerty123",
			"BOTTOKENVALUE",
		])
			expect(out).not.toContain(secret);
		expect(out).toContain("<redacted>");
	});

	test("long errors are cut to 500 characters", () => {
		expect(redactError("x".repeat(2000), { kind: "telegram", chatId: "1" }, [])).toHaveLength(500);
	});
});

describe("retry policies", () => {
	test("every kind follows DELIVERY_RETRY_*; attempt limits follow each kind's timeouts", () => {
		const config = loadConfig({
			DELIVERY_RETRY_INITIAL_MS: "250",
			DELIVERY_RETRY_BACKOFF: "3",
			DELIVERY_RETRY_MAX_INTERVAL_MS: "60000",
			DELIVERY_RETRY_MAX_ATTEMPTS: "7",
			WEBHOOK_CONNECT_TIMEOUT_MS: "1000",
			WEBHOOK_TIMEOUT_MS: "4000",
		});
		const policies = deliveryPolicies(config.delivery);
		for (const kind of ["webhook", "email", "telegram"] as const)
			expect(policies[kind]).toMatchObject({
				initialIntervalMs: 250,
				backoffCoefficient: 3,
				maximumIntervalMs: 60_000,
				maximumAttempts: 7,
			});
		expect(policies.webhook.startToCloseMs).toBe(10_000);
		expect(policies.email.startToCloseMs).toBeGreaterThanOrEqual(40_000);
	});
});
