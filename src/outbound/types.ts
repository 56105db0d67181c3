/**
 * The delivery contract shared by senders (webhook, email, Telegram), the
 * destination guard (circuit breaker + rate limits on Redis) and the delivery
 * workflow. Pure types and functions: workflows may import them.
 */
/** The channel kinds are defined once, with the delivery plan (pure, so the workflow shares them). */
export { CHANNEL_KINDS, type ChannelKind } from "../../workflows/delivery-plan.ts";

export type ChannelTarget =
	| { kind: "webhook"; url: string; headers: Record<string, string>; secret: string }
	| { kind: "email"; address: string }
	| { kind: "telegram"; chatId: string };

export interface DeliveryMessage {
	notificationId: string;
	userId: string;
	kind: string;
	title: string;
	body: string;
	data: Record<string, unknown>;
	createdAt: string;
}

export interface DeliveryRequest {
	deliveryId: string;
	/** 1-based Temporal attempt number. */
	attempt: number;
	/** The same for every attempt of one delivery (receivers deduplicate on it). */
	idempotencyKey: string;
	target: ChannelTarget;
	message: DeliveryMessage;
	/** Webhooks: post this JSON instead of `{ id, notification }` (a trigger action's rendered payload). */
	body?: unknown;
}

export interface SendOutcome {
	statusCode?: number;
}

/**
 * A failed attempt. `retryable: false` ends the delivery (e.g. a 4xx other
 * than 408/425/429); `retryAfterMs` asks the next attempt to wait (Retry-After,
 * an open circuit, a rate limit).
 */
export class DeliveryFailed extends Error {
	override readonly name = "DeliveryFailed";
	constructor(
		message: string,
		readonly retryable: boolean,
		readonly options: { statusCode?: number; retryAfterMs?: number; reason?: string } = {},
	) {
		super(message);
	}
}

export type Sender = (request: DeliveryRequest) => Promise<SendOutcome>;

/** What a circuit and a rate limit are keyed by: the webhook host, the SMTP server, the Telegram bot. */
export function destinationKey(
	target: ChannelTarget,
	settings: { smtpHost: string; smtpPort: number },
): string {
	switch (target.kind) {
		case "webhook":
			return `webhook:${new URL(target.url).host.toLowerCase()}`;
		case "email":
			return `smtp:${settings.smtpHost}:${settings.smtpPort}`;
		case "telegram":
			return "telegram:bot";
	}
}
