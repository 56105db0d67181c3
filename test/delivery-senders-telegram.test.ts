/** The Telegram sender against a local stand-in for the Bot API (Bun.serve on 127.0.0.1). */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { freePort } from "../src/infra/process.ts";
import {
	createTelegramSender,
	renderTelegramText,
	TELEGRAM_TEXT_LIMIT,
} from "../src/outbound/senders/telegram.ts";
import type { DeliveryRequest } from "../src/outbound/types.ts";
import { failure } from "./support/senders.ts";

const TOKEN = "123456789:AAH-test_token-Secret";
const calls: { path: string; body: Record<string, unknown> }[] = [];
let api: ReturnType<typeof Bun.serve>;

const answer = (status: number, body: unknown) => Response.json(body, { status });

beforeAll(() => {
	api = Bun.serve({
		hostname: "127.0.0.1",
		port: 0,
		async fetch(req) {
			const path = new URL(req.url).pathname;
			if (path !== `/bot${TOKEN}/sendMessage`)
				// the real API answers a wrong token with 401/404; this one echoes the path, token and all
				return answer(401, { ok: false, error_code: 401, description: `Unauthorized: ${path}` });
			const body = (await req.json()) as Record<string, unknown>;
			calls.push({ path, body });
			switch (body.chat_id) {
				case "flood":
					return answer(429, {
						ok: false,
						error_code: 429,
						description: "Too Many Requests: retry after 3",
						parameters: { retry_after: 3 },
					});
				case "nochat":
					return answer(400, { ok: false, error_code: 400, description: "Bad Request: chat not found" });
				case "blocked":
					return answer(403, {
						ok: false,
						error_code: 403,
						description: "Forbidden: bot was blocked by the user",
					});
				case "down":
					return new Response("<html>Bad Gateway</html>", { status: 502 });
				case "leaky":
					return answer(400, {
						ok: false,
						error_code: 400,
						description: `Bad Request: token ${TOKEN} leaked`,
					});
				default:
					return answer(200, { ok: true, result: { message_id: 7, chat: { id: body.chat_id } } });
			}
		},
	});
});

afterAll(() => api.stop(true));

const request = (chatId: string, title = "Standup", body = "in <10> minutes & *now*"): DeliveryRequest => ({
	deliveryId: "dlv-tg",
	attempt: 1,
	idempotencyKey: "idem-tg",
	target: { kind: "telegram", chatId },
	message: {
		notificationId: "n",
		userId: "u",
		kind: "k",
		title,
		body,
		data: {},
		createdAt: "2026-01-01T00:00:00.000Z",
	},
});

const sender = (token: string | undefined) =>
	createTelegramSender({ apiUrl: `http://127.0.0.1:${api.port}/`, botToken: token });

test("sendMessage with plain text and no link previews", async () => {
	calls.length = 0;
	expect(await sender(TOKEN)(request("42"))).toEqual({ statusCode: 200 });
	expect(calls).toEqual([
		{
			path: `/bot${TOKEN}/sendMessage`,
			body: { chat_id: "42", text: "Standup\n\nin <10> minutes & *now*", disable_web_page_preview: true },
		},
	]);
});

test("long text is cut to Telegram's limit on a character boundary", () => {
	const text = renderTelegramText(request("42", "T", "😀".repeat(3000)).message);
	expect(text.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
	expect(text.endsWith("😀…")).toBe(true);
});

test("429 is retryable after parameters.retry_after", async () => {
	const error = await failure(sender(TOKEN)(request("flood")));
	expect([error.retryable, error.options.statusCode, error.options.retryAfterMs]).toEqual([true, 429, 3000]);
});

test("400 and 403 are permanent, 5xx is retryable", async () => {
	const nochat = await failure(sender(TOKEN)(request("nochat")));
	expect([nochat.retryable, nochat.options.statusCode]).toEqual([false, 400]);
	expect(nochat.message).toContain("chat not found");
	const blocked = await failure(sender(TOKEN)(request("blocked")));
	expect([blocked.retryable, blocked.options.statusCode, blocked.options.reason]).toEqual([
		false,
		403,
		"telegram_forbidden",
	]);
	const down = await failure(sender(TOKEN)(request("down")));
	expect([down.retryable, down.options.statusCode]).toEqual([true, 502]);
});

test("the token never reaches error text", async () => {
	const leaky = await failure(sender(TOKEN)(request("leaky")));
	expect(leaky.message).toContain("<redacted>");
	const wrong = await failure(sender(`${TOKEN}x`)(request("42")));
	expect([wrong.retryable, wrong.options.reason]).toEqual([true, "telegram_unauthorized"]);
	expect(wrong.message).not.toContain(`${TOKEN}x`);
	const unreachable = createTelegramSender({ apiUrl: `http://127.0.0.1:${freePort()}`, botToken: TOKEN });
	const network = await failure(unreachable(request("42")));
	expect([network.retryable, network.options.reason]).toEqual([true, "network_error"]);
});

test("no token: permanent telegram_not_configured, nothing sent", async () => {
	calls.length = 0;
	const error = await failure(sender(undefined)(request("42")));
	expect([error.retryable, error.options.reason]).toEqual([false, "telegram_not_configured"]);
	expect(calls).toHaveLength(0);
});
