/**
 * Raw access to Redis through an `@upstash/redis` client, for code that needs
 * replies exactly as Redis sent them (effect's `Redis` service).
 *
 * Why not `redis.exec([...])`: it runs the reply through the client's
 * automatic JSON deserialization (unless the client was built with
 * `automaticDeserialization: false`), so a bulk string "1" comes back as the
 * number 1, "true" as `true`, "null" as `null` and '"x"' as "x". That is
 * lossy, and an integer reply becomes indistinguishable from a string one. So
 * this module calls the client's HTTP requester (`redis.client.request`, the
 * same call `exec` makes, including base64 decoding, retries and the
 * read-your-writes token) and skips the deserialization step.
 *
 * Pub/sub reads Upstash's Server-Sent Events endpoint itself (the client's
 * own subscriber cannot report a dropped stream and JSON-parses messages),
 * with the base URL and auth headers of the same requester.
 */
import { errors, type Requester, type Redis as UpstashRedis } from "@upstash/redis";

interface HttpRequester extends Requester {
	readonly baseUrl?: unknown;
	readonly headers?: unknown;
}

export interface SseSubscription {
	/** The next message on the channel; `undefined` once the stream ended. */
	next(): Promise<string | undefined>;
}

export interface UpstashTransport {
	/** Runs one command; error replies reject with `UpstashError`. */
	command(args: readonly string[], signal?: AbortSignal): Promise<unknown>;
	/** Subscribes to `channel`; resolves once the server confirmed it. */
	subscribe(channel: string, signal: AbortSignal): Promise<SseSubscription>;
}

export function upstashTransport(redis: UpstashRedis): UpstashTransport {
	const requester = Reflect.get(redis, "client") as HttpRequester | undefined;
	if (!requester || typeof requester.request !== "function") {
		throw new Error("upstashTransport: this @upstash/redis instance exposes no HTTP requester (`client`)");
	}
	return {
		async command(args, signal) {
			const response = await requester.request<unknown>({ body: args, signal });
			// On abort the requester answers a fake `{ result: "Aborted" }`.
			if (signal?.aborted) throw signal.reason ?? new Error("Aborted");
			if (response.error) throw new errors.UpstashError(response.error);
			if (response.result === undefined) throw new errors.UpstashError("Request did not return a result");
			return response.result;
		},
		subscribe: (channel, signal) => openSubscription(requester, channel, signal),
	};
}

async function openSubscription(requester: HttpRequester, channel: string, signal: AbortSignal) {
	const { baseUrl, headers } = requester;
	if (typeof baseUrl !== "string" || typeof headers !== "object" || headers === null) {
		throw new Error("Redis subscribe needs @upstash/redis's HTTP client (no base URL / headers found)");
	}
	const response = await fetch(`${baseUrl}/subscribe/${encodeURIComponent(channel)}`, {
		method: "POST",
		headers: {
			...(headers as Record<string, string>),
			Accept: "text/event-stream",
			"Cache-Control": "no-cache",
		},
		body: "[]",
		signal,
	});
	if (!response.ok || !response.body) {
		const text = await response.text();
		let message = text;
		try {
			message = (JSON.parse(text) as { error?: string }).error ?? text;
		} catch {
			// not JSON: keep the text
		}
		throw new errors.UpstashError(`subscribe ${channel} failed (HTTP ${response.status}): ${message}`);
	}
	const events = sseReader(response.body);
	const first = await events();
	if (first === undefined || !first.startsWith("subscribe,")) {
		throw new errors.UpstashError(`subscribe ${channel}: unexpected first event ${JSON.stringify(first)}`);
	}
	const prefix = `message,${channel},`;
	return {
		async next() {
			for (;;) {
				const event = await events();
				if (event === undefined) return undefined;
				if (event.startsWith(prefix)) return event.slice(prefix.length);
			}
		},
	} satisfies SseSubscription;
}

/** Reads SSE events; each call resolves with the next event's data lines joined by "\n". */
function sseReader(body: ReadableStream<Uint8Array>): () => Promise<string | undefined> {
	const reader = body.getReader();
	const decoder = new TextDecoder();
	let buffer = "";
	return async () => {
		for (;;) {
			const boundary = /\r?\n\r?\n/.exec(buffer);
			if (boundary) {
				const block = buffer.slice(0, boundary.index);
				buffer = buffer.slice(boundary.index + boundary[0].length);
				const data = block
					.split(/\r?\n/)
					.filter((line) => line.startsWith("data:"))
					.map((line) => line.slice(line.startsWith("data: ") ? 6 : 5));
				if (data.length > 0) return data.join("\n");
				continue;
			}
			const { value, done } = await reader.read();
			if (done) return undefined;
			buffer += decoder.decode(value, { stream: true });
		}
	};
}
