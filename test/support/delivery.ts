/**
 * Real delivery deps for a test worker (senders, the Redis-backed guard
 * under a per-test prefix, the `delivery` config) and the settings tests
 * share: short retry intervals, short webhook timeouts, 127.0.0.1 allowed.
 */
import { join } from "node:path";
import type { DeliveryDeps } from "../../activities/deliveries/index.ts";
import { type HeraldConfig, loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/infra/log.ts";
import { createRedis } from "../../src/infra/redis/client.ts";
import { createDestinationGuard, guardSettings } from "../../src/outbound/guard.ts";
import { createSenders, senderSettings } from "../../src/outbound/senders/index.ts";
import { testEnv } from "./env.ts";

/** Fast retries and timeouts; receivers on 127.0.0.1 are allowed. */
export const FAST_DELIVERY: Record<string, string> = {
	WEBHOOK_ALLOW_PRIVATE: "127.0.0.1",
	DELIVERY_RETRY_INITIAL_MS: "100",
	DELIVERY_RETRY_BACKOFF: "1.5",
	DELIVERY_RETRY_MAX_INTERVAL_MS: "300",
	DELIVERY_RETRY_MAX_ATTEMPTS: "6",
	WEBHOOK_CONNECT_TIMEOUT_MS: "500",
	WEBHOOK_TIMEOUT_MS: "2000",
};

export interface DeliveryKit {
	deps: DeliveryDeps;
	config: HeraldConfig;
	/** The guard's Redis prefix (a worker in another process must use the same one). */
	guardPrefix: string;
	close(): Promise<void>;
}

export async function deliveryKit(
	env: Record<string, string> = {},
	guardPrefix = `test:${process.pid}:${crypto.randomUUID()}:delivery:`,
): Promise<DeliveryKit> {
	const infra = await testEnv();
	const config = loadConfig({ HERALD_ENV: "test", ...FAST_DELIVERY, ...env });
	const senders = createSenders(senderSettings(config.delivery));
	const redis = createRedis({ url: infra.redisRestUrl, token: infra.redisRestToken });
	const guard = createDestinationGuard(
		redis,
		guardSettings(config.delivery, guardPrefix),
		createLogger("warn"),
	);
	return {
		deps: { senders, guard, settings: config.delivery },
		config,
		guardPrefix,
		async close() {
			await senders.close();
			await guard.dispose();
		},
	};
}

/**
 * The fixture worker (test/fixtures/delivery-worker.ts) in a child process on
 * `taskQueue`, sharing the kit's database and guard prefix; resolves once it
 * prints "ready".
 */
export async function spawnDeliveryWorker(
	kit: DeliveryKit,
	databaseUrl: string,
	taskQueue: string,
	extraEnv: Record<string, string> = {},
): Promise<ReturnType<typeof Bun.spawn>> {
	const env = await testEnv();
	const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../fixtures/delivery-worker.ts")], {
		env: {
			...process.env,
			...FAST_DELIVERY,
			...extraEnv,
			DATABASE_URL: databaseUrl,
			TEMPORAL_ADDRESS: env.temporalAddress,
			TASK_QUEUE: taskQueue,
			REDIS_REST_URL: env.redisRestUrl,
			REDIS_REST_TOKEN: env.redisRestToken,
			GUARD_PREFIX: kit.guardPrefix,
		},
		stdout: "pipe",
		stderr: "inherit",
	});
	const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
	let seen = "";
	while (!seen.includes("ready")) {
		const { value, done } = await reader.read();
		if (done) throw new Error(`delivery worker exited before it was ready (code ${await proc.exited})`);
		seen += new TextDecoder().decode(value);
	}
	reader.releaseLock();
	return proc;
}
