/**
 * Real receivers on 127.0.0.1 for delivery tests: a webhook endpoint that
 * records every call and applies each idempotency key's effect once, a
 * Telegram Bot API stand-in (`/bot<token>/sendMessage`) and an SMTP server.
 */
import { startMailCatcher } from "../../src/infra/embedded/mail-catcher.ts";

export interface WebhookCall {
	path: string;
	headers: Headers;
	body: string;
	idempotencyKey: string | null;
	/** The answer's status, once it was sent (never, for a request left hanging). */
	status?: number;
}

export interface WebhookReceiver {
	url: string;
	calls: WebhookCall[];
	/** Idempotency key → how many times its effect was applied (a receiver that dedupes: always 1). */
	effects: Map<string, number>;
	/** Keys answered with a 2xx at least once. */
	acceptedKeys(): string[];
	/** A response that never comes until `stop` (simulates a hung receiver). */
	hang(): Promise<Response>;
	stop(): void;
}

export type Responder = (call: WebhookCall, index: number) => Response | Promise<Response>;

export function startWebhookReceiver(respond: Responder): WebhookReceiver {
	const calls: WebhookCall[] = [];
	const effects = new Map<string, number>();
	const hanging: Array<() => void> = [];
	const server = Bun.serve({
		hostname: "127.0.0.1",
		port: 0,
		idleTimeout: 0,
		async fetch(req) {
			const call: WebhookCall = {
				path: new URL(req.url).pathname,
				headers: req.headers,
				body: await req.text(),
				idempotencyKey: req.headers.get("idempotency-key"),
			};
			calls.push(call);
			const response = await respond(call, calls.length - 1);
			call.status = response.status;
			const key = call.idempotencyKey;
			if (key && response.ok && !effects.has(key)) effects.set(key, 1);
			return response;
		},
	});
	return {
		url: `http://127.0.0.1:${server.port}`,
		calls,
		effects,
		acceptedKeys: () => [
			...new Set(calls.filter((c) => c.status && c.status < 300).map((c) => c.idempotencyKey!)),
		],
		hang: () =>
			new Promise<Response>((resolve) => hanging.push(() => resolve(new Response("late", { status: 503 })))),
		stop() {
			for (const release of hanging) release();
			server.stop(true);
		},
	};
}

export interface TelegramStandIn {
	apiUrl: string;
	token: string;
	messages: { chat_id: string; text: string }[];
	stop(): void;
}

export function startTelegramStandIn(
	token = `123456:${crypto.randomUUID().replaceAll("-", "")}`,
): TelegramStandIn {
	const messages: TelegramStandIn["messages"] = [];
	const server = Bun.serve({
		hostname: "127.0.0.1",
		port: 0,
		async fetch(req) {
			const path = new URL(req.url).pathname;
			if (path !== `/bot${token}/sendMessage`)
				return Response.json({ ok: false, error_code: 404, description: "Not Found" }, { status: 404 });
			const body = (await req.json()) as { chat_id: string; text: string };
			messages.push({ chat_id: String(body.chat_id), text: body.text });
			return Response.json({ ok: true, result: { message_id: messages.length, chat: { id: body.chat_id } } });
		},
	});
	return { apiUrl: `http://127.0.0.1:${server.port}`, token, messages, stop: () => server.stop(true) };
}

export interface SmtpStandIn {
	port: number;
	/** Oldest first. */
	readonly messages: { from: string; to: string[]; raw: string }[];
	/** The last 6-digit verification code sent to `address`. */
	codeFor(address: string): string | undefined;
	stop(): Promise<void>;
}

/** `dev`'s mail catcher (src/infra/embedded/mail-catcher.ts) on free ports. */
export async function startSmtpStandIn(): Promise<SmtpStandIn> {
	const catcher = await startMailCatcher({ smtpPort: 0, uiPort: 0 });
	const messages = () => catcher.messages().reverse();
	return {
		port: catcher.smtpPort,
		get messages() {
			return messages();
		},
		codeFor(to) {
			const mail = messages()
				.filter((m) => m.to.includes(to))
				.at(-1);
			return mail?.raw.match(/verification code: (\d{6})/)?.[1];
		},
		stop: () => catcher.stop(),
	};
}

/**
 * A target whose first call hangs (a worker killed mid-delivery never hears
 * back) and whose later calls apply: `firstRequest` resolves when the first
 * call has arrived.
 */
export function hangingFirstCall(): { receiver: WebhookReceiver; firstRequest: Promise<void> } {
	let arrived = () => {};
	const firstRequest = new Promise<void>((resolve) => {
		arrived = resolve;
	});
	const receiver: WebhookReceiver = startWebhookReceiver((_call, i) => {
		if (i > 0) return new Response("applied", { status: 200 });
		arrived();
		return receiver.hang();
	});
	return { receiver, firstRequest };
}
