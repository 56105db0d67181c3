import type { UpstashRedis } from "../../src/infra/redis/client.ts";

/** Deletes every Redis key under `prefix` (SCAN + DEL): tests clean up only their own keys. */
export async function deleteKeys(redis: UpstashRedis, prefix: string): Promise<void> {
	let cursor = "0";
	do {
		const [next, keys] = await redis.scan(cursor, { match: `${prefix}*`, count: 1000 });
		if (keys.length > 0) await redis.del(...keys);
		cursor = String(next);
	} while (cursor !== "0");
}
