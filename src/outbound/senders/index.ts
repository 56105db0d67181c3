/**
 * The three senders, built once per worker process from the `delivery`
 * config. `close()` releases the SMTP pool (webhook and Telegram use fetch's
 * shared keep-alive pool and hold nothing of their own).
 */
import { Option } from "effect";
import { type HeraldConfig, secret } from "../../config.ts";
import type { ChannelKind, Sender } from "../types.ts";
import { createEmailSender } from "./email.ts";
import { createTelegramSender } from "./telegram.ts";
import { createWebhookSender } from "./webhook.ts";

export interface SenderSettings {
	smtpHost: string;
	smtpPort: number;
	smtpSecure: boolean;
	smtpUser?: string;
	smtpPassword?: string;
	mailFrom: string;
	telegramBotToken?: string;
	telegramApiUrl: string;
	webhookAllowPrivate: readonly string[];
	webhookConnectTimeoutMs: number;
	webhookTimeoutMs: number;
	/** DNS for webhook SSRF checks, for tests. */
	resolve?: (hostname: string) => Promise<string[]>;
	/** Trusted CAs for webhooks (PEM), replacing the defaults; for tests and private PKI. */
	webhookCa?: string | string[];
}

export type Senders = Record<ChannelKind, Sender> & { close(): Promise<void> };

/** `config.delivery` with its options and secrets unwrapped. */
export function senderSettings(delivery: HeraldConfig["delivery"]): SenderSettings {
	const user = Option.getOrUndefined(delivery.smtpUser);
	const password = Option.getOrUndefined(Option.map(delivery.smtpPassword, secret));
	const token = Option.getOrUndefined(Option.map(delivery.telegramBotToken, secret));
	return {
		smtpHost: delivery.smtpHost,
		smtpPort: delivery.smtpPort,
		smtpSecure: delivery.smtpSecure,
		...(user !== undefined ? { smtpUser: user } : {}),
		...(password !== undefined ? { smtpPassword: password } : {}),
		mailFrom: delivery.mailFrom,
		...(token !== undefined ? { telegramBotToken: token } : {}),
		telegramApiUrl: delivery.telegramApiUrl,
		webhookAllowPrivate: delivery.webhookAllowPrivate,
		webhookConnectTimeoutMs: delivery.webhookConnectTimeoutMs,
		webhookTimeoutMs: delivery.webhookTimeoutMs,
	};
}

export function createSenders(settings: SenderSettings): Senders {
	const email = createEmailSender({
		host: settings.smtpHost,
		port: settings.smtpPort,
		secure: settings.smtpSecure,
		...(settings.smtpUser !== undefined ? { user: settings.smtpUser } : {}),
		...(settings.smtpPassword !== undefined ? { password: settings.smtpPassword } : {}),
		from: settings.mailFrom,
	});
	return {
		webhook: createWebhookSender({
			allowPrivate: settings.webhookAllowPrivate,
			connectTimeoutMs: settings.webhookConnectTimeoutMs,
			timeoutMs: settings.webhookTimeoutMs,
			...(settings.resolve ? { resolve: settings.resolve } : {}),
			...(settings.webhookCa ? { ca: settings.webhookCa } : {}),
		}),
		email,
		telegram: createTelegramSender({ apiUrl: settings.telegramApiUrl, botToken: settings.telegramBotToken }),
		async close() {
			email.close();
		},
	};
}
