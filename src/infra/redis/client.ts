/**
 * The one Redis client of application code: `@upstash/redis` over HTTP, to
 * real Upstash or to Herald's local gateway (`gateway.ts`).
 *
 * Beware its automatic deserialization (kept on, as Upstash users expect):
 * every string reply that parses as JSON comes back parsed, so a stored "1"
 * reads as the number 1, "true" as `true` and '{"a":1}' as an object. Code
 * that needs the raw reply (effect's Redis service does) uses
 * `effect-redis.ts`, which bypasses it.
 */
import { Redis } from "@upstash/redis";
import { instrumentRedis } from "./metrics.ts";

export type { Redis as UpstashRedis } from "@upstash/redis";

export interface RedisClientOptions {
	/** REST URL: `https://<db>.upstash.io` or the local gateway's URL. */
	readonly url: string;
	readonly token: string;
}

export function createRedis(options: RedisClientOptions): Redis {
	return instrumentRedis(
		new Redis({
			url: options.url,
			token: options.token,
			enableTelemetry: false,
			// Network errors only (HTTP error replies are never retried): a few
			// quick attempts ride over a gateway restart or a dropped keep-alive
			// connection without holding a request for long.
			retry: { retries: 3, backoff: (attempt) => Math.min(1000, 50 * 2 ** attempt) },
		}),
	);
}

/** Round-trip time of a PING in milliseconds; throws when Redis is unreachable. */
export async function pingRedis(redis: Redis): Promise<number> {
	const started = performance.now();
	const reply = await redis.ping();
	if (reply !== "PONG") throw new Error(`Unexpected PING reply from Redis: ${JSON.stringify(reply)}`);
	return performance.now() - started;
}
