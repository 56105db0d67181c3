/**
 * Telegram and email actions end to end on local stand-ins (a Telegram Bot
 * API stand-in, the SMTP mail catcher): a fire's rendered text reaches the
 * chat and the inbox through the same senders, guard and Temporal run as
 * notifications; the run and its attempt are recorded.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TestApp } from "./support/app.ts";
import {
	type SmtpStandIn,
	startSmtpStandIn,
	startTelegramStandIn,
	type TelegramStandIn,
} from "./support/receivers.ts";
import type { Registered } from "./support/tokens.ts";
import { startTriggerStack, type TriggerStack } from "./support/trigger-stack.ts";
import { eventually } from "./support/wait.ts";

let smtp: SmtpStandIn;
let telegram: TelegramStandIn;

let stack: TriggerStack;
let t: TestApp;
let alice: Registered;

beforeAll(async () => {
	smtp = await startSmtpStandIn();
	telegram = startTelegramStandIn();
	stack = await startTriggerStack("trigger-channels", {
		SMTP_HOST: "127.0.0.1",
		SMTP_PORT: String(smtp.port),
		TELEGRAM_API_URL: telegram.apiUrl,
		TELEGRAM_BOT_TOKEN: telegram.token,
	});
	({ t, alice } = stack);
});
afterAll(async () => {
	await stack.stop();
	telegram.stop();
	await smtp.stop();
});
const succeeded = (id: string) =>
	eventually(
		async () => {
			const res = await t.request("GET", `/api/v1/triggers/${id}/runs`, { token: alice.accessToken });
			return res.body.items?.[0]?.status === "succeeded" ? res.body.items[0] : undefined;
		},
		{ timeoutMs: 30_000 },
	);

describe("telegram and email actions", () => {
	test("the rendered text reaches the chat and the inbox", async () => {
		const make = (action: Record<string, unknown>, type: string) =>
			t.request("POST", "/api/v1/triggers", {
				token: alice.accessToken,
				body: { name: "n", eventTypes: [type], condition: "data.score < 3", action },
			});
		const tg = await make(
			{ kind: "telegram", chatId: "4242", text: "Score {{data.score}} for {{data.agent}}" },
			"c.tg",
		);
		const mail = await make(
			{
				kind: "email",
				to: "ops@example.com",
				subject: "Agent {{data.agent}} is low",
				text: "Score: {{data.score}}",
			},
			"c.mail",
		);
		expect([tg.status, mail.status]).toEqual([201, 201]);
		const source = (
			await t.request("POST", "/api/v1/sources", { token: alice.accessToken, body: { name: "c" } })
		).body;
		await t.request("POST", "/api/v1/ingest", {
			body: {
				events: [
					{ type: "c.tg", externalId: "1", data: { score: 1, agent: "<a7>" } },
					{ type: "c.mail", externalId: "2", data: { score: 2, agent: "a8" } },
				],
			},
			headers: { authorization: `Bearer ${source.key}` },
		});
		const tgRun = await succeeded(tg.body.id);
		const mailRun = await succeeded(mail.body.id);
		expect(telegram.messages).toContainEqual({ chat_id: "4242", text: "Score 1 for <a7>" });
		const sent = smtp.messages.find((m) => m.to.includes("ops@example.com"));
		expect(sent?.raw).toContain("Agent a8 is low");
		expect(sent?.raw).toContain("Score: 2");
		expect(tgRun.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["ok"]);
		expect(mailRun.attempts[0].destination).toBe("mailto:ops@example.com");
	}, 60_000);
});
