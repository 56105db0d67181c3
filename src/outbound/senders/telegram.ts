/**
 * Telegram delivery through the Bot API: `POST {apiUrl}/bot{token}/sendMessage`
 * with `{ chat_id, text, disable_web_page_preview: true }`. The text is sent
 * without `parse_mode` (plain text: nothing to escape, nothing a notification
 * can inject), title and body, cut to Telegram's 4096 characters.
 *
 * Outcomes from `{ ok: false, error_code, description, parameters }`:
 * 429 retryable with `retryAfterMs = parameters.retry_after * 1000`; 5xx
 * retryable; 401/404 (the API's answer to a wrong token) retryable as
 * "telegram_unauthorized" (Herald's misconfiguration: wait, don't drop);
 * 400/403 and other 4xx non-retryable; network errors and timeouts retryable.
 * A missing token fails non-retryably ("telegram_not_configured").
 *
 * The Bot API has no idempotency key: an attempt that timed out after
 * Telegram accepted it is sent again. The token is part of the URL, so no
 * error text ever includes a URL or a raw error message, and everything that
 * is included passes through `redact`.
 */
import { DeliveryFailed, type DeliveryMessage, type Sender } from "../types.ts";
import { describeNetworkError, parseRetryAfter } from "./http.ts";

export interface TelegramSenderSettings {
	/** TELEGRAM_API_URL, default https://api.telegram.org. */
	apiUrl: string;
	botToken: string | undefined;
	/** Whole-request deadline (default 15 s). */
	timeoutMs?: number;
}

export const TELEGRAM_TEXT_LIMIT = 4096;

interface BotApiAnswer {
	ok?: boolean;
	error_code?: number;
	description?: string;
	parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

/** Title and body as one plain-text message of at most 4096 UTF-16 units, cut on a character boundary. */
export function renderTelegramText(message: DeliveryMessage): string {
	const text = [message.title.trim(), message.body.trim()].filter(Boolean).join("\n\n");
	if (text.length <= TELEGRAM_TEXT_LIMIT) return text;
	let cut = "";
	for (const char of text) {
		if (cut.length + char.length > TELEGRAM_TEXT_LIMIT - 1) break;
		cut += char;
	}
	return `${cut}…`;
}

/** Removes a bot token (raw or URL-encoded) from text meant for errors and logs. */
export function redact(text: string, token: string | undefined): string {
	if (!token) return text;
	let out = text;
	for (const form of new Set([token, encodeURIComponent(token)])) out = out.split(form).join("<redacted>");
	return out;
}

export function createTelegramSender(settings: TelegramSenderSettings): Sender {
	const token = settings.botToken || undefined;
	const base = settings.apiUrl.replace(/\/+$/, "");
	const timeoutMs = settings.timeoutMs ?? 15_000;

	return async (request) => {
		if (request.target.kind !== "telegram")
			throw new DeliveryFailed(`telegram sender got a ${request.target.kind} target`, false, {
				reason: "wrong_channel",
			});
		if (!token)
			throw new DeliveryFailed("telegram: TELEGRAM_BOT_TOKEN is not set", false, {
				reason: "telegram_not_configured",
			});
		const fail = (message: string, retryable: boolean, options: DeliveryFailed["options"]) =>
			new DeliveryFailed(redact(`telegram: ${message}`, token), retryable, options);
		let response: Response;
		try {
			response = await fetch(`${base}/bot${token}/sendMessage`, {
				method: "POST",
				headers: { "content-type": "application/json" },
				body: JSON.stringify({
					chat_id: request.target.chatId,
					text: renderTelegramText(request.message),
					disable_web_page_preview: true,
				}),
				signal: AbortSignal.timeout(timeoutMs),
			});
		} catch (error) {
			const timedOut = (error as { name?: string } | null)?.name === "TimeoutError";
			throw timedOut
				? fail(`no answer within ${timeoutMs} ms`, true, { reason: "timeout" })
				: fail(describeNetworkError(error), true, { reason: "network_error" });
		}
		const answer = (await response.json().catch(() => undefined)) as BotApiAnswer | undefined;
		if (response.ok && answer?.ok === true) return { statusCode: response.status };

		const status = answer?.error_code ?? response.status;
		const description = (answer?.description ?? response.statusText ?? "").slice(0, 200);
		const what = `${status} ${description}`.trim();
		if (status === 429) {
			const seconds = answer?.parameters?.retry_after;
			const retryAfterMs =
				typeof seconds === "number" ? seconds * 1000 : parseRetryAfter(response.headers.get("retry-after"));
			throw fail(what, true, {
				statusCode: 429,
				reason: "rate_limited",
				...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
			});
		}
		if (status >= 500 || status === 408)
			throw fail(what, true, { statusCode: status, reason: `http_${status}` });
		if (status === 401 || status === 404)
			throw fail(what, true, { statusCode: status, reason: "telegram_unauthorized" });
		if (answer?.parameters?.migrate_to_chat_id !== undefined)
			throw fail(what, false, { statusCode: status, reason: "telegram_chat_migrated" });
		if (status < 400)
			throw fail(`unexpected answer ${what}`, true, { statusCode: status, reason: "unexpected_answer" });
		throw fail(what, false, {
			statusCode: status,
			reason: status === 403 ? "telegram_forbidden" : `http_${status}`,
		});
	};
}
