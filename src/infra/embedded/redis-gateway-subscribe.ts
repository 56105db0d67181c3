/**
 * Pub/sub over Server-Sent Events, as Upstash serves it: `POST /subscribe/<channel>`
 * (or `/psubscribe/<pattern>`) answers `text/event-stream` with one event per
 * Redis push, its data being the push joined by commas:
 * `subscribe,<channel>,<count>`, `message,<channel>,<payload>`,
 * `pmessage,<pattern>,<channel>,<payload>`. Payloads are raw text, never
 * base64 (`@upstash/redis` does not decode event streams). A payload with a
 * newline is split into several `data:` lines, as the SSE standard joins them.
 */

import { RedisReplyError, type Reply, replyToText } from "./resp.ts";
import type { RedisConnectionPool } from "./resp-pool.ts";

const encoder = new TextEncoder();

function sseEvent(push: Reply): string {
	const parts = replyToText(push);
	const text = Array.isArray(parts) ? parts.map(String).join(",") : String(parts);
	return `${text
		.split("\n")
		.map((line) => `data: ${line}`)
		.join("\n")}\n\n`;
}

export async function subscribeResponse(
	pool: RedisConnectionPool,
	kind: "subscribe" | "psubscribe",
	channel: string,
	signal: AbortSignal,
): Promise<Response> {
	const connection = await pool.openDetached();
	let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
	let backlog: string[] = [];
	let confirm: ((reply: Reply) => void) | undefined;
	const confirmed = new Promise<Reply>((resolve) => {
		confirm = resolve;
	});
	connection.startPush((reply) => {
		if (confirm) {
			const done = confirm;
			confirm = undefined;
			done(reply);
			if (reply instanceof RedisReplyError) return;
		}
		const event = sseEvent(reply);
		if (controller) controller.enqueue(encoder.encode(event));
		else backlog.push(event);
	});
	connection.onClose((error) => {
		confirm?.(new RedisReplyError(error.message));
		try {
			controller?.close();
		} catch {
			// already closed or cancelled
		}
	});
	const stop = () => connection.close();
	signal.addEventListener("abort", stop, { once: true });
	connection.write([kind.toUpperCase(), channel]);

	const first = await confirmed;
	if (first instanceof RedisReplyError) {
		stop();
		return Response.json({ error: first.message }, { status: 400 });
	}
	const stream = new ReadableStream<Uint8Array>({
		start(streamController) {
			controller = streamController;
			for (const event of backlog) streamController.enqueue(encoder.encode(event));
			backlog = [];
			if (connection.closed) streamController.close();
		},
		cancel: stop,
	});
	return new Response(stream, {
		headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive" },
	});
}
