/**
 * From a delivery's rows to what the senders take, and from a failure to
 * what may be stored: attempt records name the destination without
 * credentials and carry error text with every secret taken out.
 */
import type { ChannelRow } from "../channels/repository.ts";
import type { ChannelTarget, DeliveryRequest } from "../outbound/types.ts";
import type { DeliveryContext } from "./repository.ts";

const MAX_ERROR_LENGTH = 500;

export function channelTarget(channel: ChannelRow): ChannelTarget {
	switch (channel.kind) {
		case "webhook":
			return { kind: "webhook", url: channel.url!, headers: channel.headers ?? {}, secret: channel.secret! };
		case "email":
			return { kind: "email", address: channel.address! };
		case "telegram":
			return { kind: "telegram", chatId: channel.chat_id! };
	}
}

export function deliveryRequest(ctx: DeliveryContext, attempt: number): DeliveryRequest {
	const n = ctx.notification;
	return {
		deliveryId: ctx.delivery.id,
		attempt,
		idempotencyKey: ctx.delivery.idempotency_key,
		target: channelTarget(ctx.channel),
		message: {
			notificationId: n.id,
			userId: n.user_id,
			kind: n.kind,
			title: n.title,
			body: n.body,
			data: n.data,
			createdAt: n.created_at.toISOString(),
		},
	};
}

/** Where an attempt went, safe to store: a webhook's origin only (paths and queries often hold tokens). */
export function describeDestination(target: ChannelTarget): string {
	switch (target.kind) {
		case "webhook":
			return new URL(target.url).origin;
		case "email":
			return `mailto:${target.address}`;
		case "telegram":
			return `telegram:${target.chatId}`;
	}
}

/**
 * Error text with secrets removed: the webhook's secret, URL and header
 * values, and whatever the worker holds (bot token, SMTP password) —
 * then cut to a bounded length.
 */
export function redactError(text: string, target: ChannelTarget, secrets: string[]): string {
	const words = [...secrets];
	if (target.kind === "webhook") {
		words.push(target.secret, ...Object.values(target.headers));
		const url = new URL(target.url);
		if (url.pathname.length > 1 || url.search) words.push(target.url, `${url.pathname}${url.search}`);
	}
	let out = text;
	for (const word of words.filter((w) => w.length >= 4).sort((a, b) => b.length - a.length))
		out = out.split(word).join("<redacted>");
	return out.length > MAX_ERROR_LENGTH ? `${out.slice(0, MAX_ERROR_LENGTH - 1)}…` : out;
}
