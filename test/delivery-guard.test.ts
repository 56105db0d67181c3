/**
 * The destination guard on the run's real Redis (through the gateway and
 * @upstash/redis): effect's circuit breaker per destination, effect's rate
 * limiter, which failures count, and failing open when Redis is unreachable.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createLogger } from "../src/infra/log.ts";
import { createRedis } from "../src/infra/redis/client.ts";
import { createDestinationGuard, type DestinationGuard, type GuardSettings } from "../src/outbound/guard.ts";
import { DeliveryFailed } from "../src/outbound/types.ts";
import { testEnv } from "./support/env.ts";
import { deleteKeys } from "./support/redis.ts";
import { eventually } from "./support/wait.ts";

const infra = await testEnv();
const redis = createRedis({ url: infra.redisRestUrl, token: infra.redisRestToken });
const prefix = `test:guard:${process.pid}:${crypto.randomUUID().slice(0, 8)}:`;
const logLines: string[] = [];
const log = createLogger("warn", {}, (line) => logLines.push(line));
const guards: DestinationGuard[] = [];

function makeGuard(overrides: Partial<GuardSettings> = {}, client = redis): DestinationGuard {
	const guard = createDestinationGuard(
		client,
		{ failures: 3, openMs: 300, telegramPerChat: 1, telegramGlobal: 30, prefix, ...overrides },
		log,
	);
	guards.push(guard);
	return guard;
}

afterAll(async () => {
	await Promise.all(guards.map((g) => g.dispose()));
	await deleteKeys(redis, prefix);
});

const uniqueKey = (name: string) => `webhook:${name}-${crypto.randomUUID().slice(0, 8)}.example`;
const unavailable = () => new DeliveryFailed("503 from destination", true, { statusCode: 503 });

/** What a call threw (fails the test when it succeeded). */
async function thrown(promise: Promise<unknown>): Promise<unknown> {
	return promise.then(
		(value) => {
			throw new Error(`expected a failure, got ${String(value)}`);
		},
		(e: unknown) => e,
	);
}

/** The `DeliveryFailed` a call was turned away with. */
async function turnedAway(promise: Promise<unknown>): Promise<DeliveryFailed> {
	const error = await thrown(promise);
	if (!(error instanceof DeliveryFailed)) throw new Error(`expected DeliveryFailed, got ${String(error)}`);
	return error;
}

async function trip(guard: DestinationGuard, key: string, failures = 3): Promise<void> {
	for (let i = 0; i < failures; i++) {
		const error = unavailable();
		expect(await turnedAway(guard.run(key, () => Promise.reject(error)))).toBe(error);
	}
}

const circuit = async (guard: DestinationGuard, key: string) =>
	(await guard.list()).find((c) => c.key === key);

describe("circuit breaker per destination", () => {
	test("trips after N retryable failures; while open fn is not called and retryAfterMs is the open time left", async () => {
		const guard = makeGuard({ openMs: 5_000 });
		const key = uniqueKey("trip");
		expect(await guard.run(key, async () => "ok")).toBe("ok");
		await trip(guard, key, 2);
		expect(await circuit(guard, key)).toEqual({ key, state: "closed", failures: 2 });
		await trip(guard, key, 1);

		let calls = 0;
		const error = await turnedAway(guard.run(key, async () => ++calls));
		expect(calls).toBe(0);
		expect(error.retryable).toBe(true);
		expect(error.options.reason).toBe("circuit_open");
		expect(error.options.retryAfterMs).toBeGreaterThan(4_000);
		expect(error.options.retryAfterMs).toBeLessThanOrEqual(5_000);
		const view = await circuit(guard, key);
		expect(view?.state).toBe("open");
		expect(view?.retryAfterMs).toBeLessThanOrEqual(error.options.retryAfterMs!);
	});

	test("after openMs exactly one probe runs while others are turned away; its success closes the circuit", async () => {
		const guard = makeGuard({ openMs: 300 });
		const key = uniqueKey("probe");
		await trip(guard, key);
		const first = await turnedAway(guard.run(key, async () => "no"));
		expect(first.options.retryAfterMs).toBeGreaterThan(0);
		expect(first.options.retryAfterMs).toBeLessThanOrEqual(300);
		await eventually(async () => (await circuit(guard, key))?.state === "half_open", { what: "half-open" });

		let calls = 0;
		const started = Promise.withResolvers<void>();
		const gate = Promise.withResolvers<void>();
		const probe = guard.run(key, async () => {
			calls++;
			started.resolve();
			await gate.promise;
			return "probed";
		});
		await started.promise;
		const others = await Promise.all(
			Array.from({ length: 5 }, () => turnedAway(guard.run(key, async () => ++calls))),
		);
		expect(calls).toBe(1);
		for (const error of others) {
			expect(error.options.reason).toBe("circuit_open");
			expect(error.options.retryAfterMs).toBeGreaterThan(0);
			expect(error.options.retryAfterMs).toBeLessThanOrEqual(300);
		}
		expect((await circuit(guard, key))?.state).toBe("half_open");

		gate.resolve();
		expect(await probe).toBe("probed");
		expect(await circuit(guard, key)).toEqual({ key, state: "closed", failures: 0 });
		expect(await guard.run(key, async () => "after")).toBe("after");
	});

	test("a failed probe opens the circuit again for openMs", async () => {
		const guard = makeGuard({ openMs: 300 });
		const key = uniqueKey("reopen");
		await trip(guard, key);
		await eventually(async () => (await circuit(guard, key))?.state === "half_open", { what: "half-open" });
		await thrown(guard.run(key, () => Promise.reject(new Error("still down"))));
		const error = await turnedAway(guard.run(key, async () => "no"));
		expect(error.options.reason).toBe("circuit_open");
		expect(error.options.retryAfterMs).toBeGreaterThan(0);
		expect(error.options.retryAfterMs).toBeLessThanOrEqual(300);
	});

	test("non-retryable failures (the destination answered) do not trip; unexpected errors do", async () => {
		const guard = makeGuard({ openMs: 5_000 });
		const key = uniqueKey("client-errors");
		let calls = 0;
		for (let i = 0; i < 6; i++) {
			const error = new DeliveryFailed("404", false, { statusCode: 404 });
			const thrown = await turnedAway(
				guard.run(key, async () => {
					calls++;
					throw error;
				}),
			);
			expect(thrown).toBe(error);
		}
		expect(calls).toBe(6);
		expect(await circuit(guard, key)).toEqual({ key, state: "closed", failures: 0 });

		// A 4xx resets the streak (the destination is up) ...
		await trip(guard, key, 2);
		await turnedAway(
			guard.run(key, () => Promise.reject(new DeliveryFailed("410", false, { statusCode: 410 }))),
		);
		expect((await circuit(guard, key))?.failures).toBe(0);
		// ... a refusal before sending (no status code) says nothing about it.
		await trip(guard, key, 2);
		await turnedAway(guard.run(key, () => Promise.reject(new DeliveryFailed("blocked address", false))));
		expect((await circuit(guard, key))?.failures).toBe(2);

		// Anything that is not a DeliveryFailed counts against the destination.
		expect(await thrown(guard.run(key, () => Promise.reject(new TypeError("fetch failed"))))).toBeInstanceOf(
			TypeError,
		);
		expect((await turnedAway(guard.run(key, async () => "no"))).options.reason).toBe("circuit_open");
	});

	test("reset closes a circuit; unknown keys are false", async () => {
		const guard = makeGuard({ openMs: 60_000 });
		const key = uniqueKey("reset");
		await trip(guard, key);
		expect((await circuit(guard, key))?.state).toBe("open");
		expect(await guard.reset(key)).toBe(true);
		expect(await circuit(guard, key)).toBeUndefined();
		expect(await guard.run(key, async () => "sent")).toBe("sent");
		expect(await guard.reset(uniqueKey("never-seen"))).toBe(false);
	});
});

describe("rate limits", () => {
	test("N per window, then rate_limited with retryAfterMs and fn not called", async () => {
		const guard = makeGuard();
		const key = uniqueKey("limited");
		const rateLimits = [{ key: `limit:${key}`, limit: 3, windowMs: 10_000 }];
		let calls = 0;
		for (let i = 0; i < 3; i++) await guard.run(key, async () => ++calls, { rateLimits });
		const error = await turnedAway(guard.run(key, async () => ++calls, { rateLimits }));
		expect(calls).toBe(3);
		expect(error.retryable).toBe(true);
		expect(error.options.reason).toBe("rate_limited");
		expect(error.options.retryAfterMs).toBeGreaterThan(0);
		// effect's script rounds each token's share of the window up to whole ms.
		expect(error.options.retryAfterMs).toBeLessThanOrEqual(10_003);
		// A rejection is not the destination's fault.
		expect((await circuit(guard, key))?.state).toBe("closed");
	});

	test("Telegram: one message per chat per second, other chats unaffected", async () => {
		const guard = makeGuard({ telegramPerChat: 1, telegramGlobal: 30 });
		const chat = crypto.randomUUID();
		const limits = guard.limitsFor({ kind: "telegram", chatId: chat });
		expect(limits).toEqual([
			{ key: `telegram:chat:${chat}`, limit: 1, windowMs: 1_000 },
			{ key: "telegram:global", limit: 30, windowMs: 1_000 },
		]);
		expect(guard.limitsFor({ kind: "email", address: "a@example.com" })).toEqual([]);
		const key = uniqueKey("telegram");
		expect(await guard.run(key, async () => 1, { rateLimits: limits })).toBe(1);
		const error = await turnedAway(guard.run(key, async () => 2, { rateLimits: limits }));
		expect(error.options).toMatchObject({ reason: "rate_limited" });
		expect(error.options.retryAfterMs).toBeLessThanOrEqual(1_000);
		const other = guard.limitsFor({ kind: "telegram", chatId: crypto.randomUUID() });
		expect(await guard.run(key, async () => 3, { rateLimits: other })).toBe(3);
	});

	test("a rate-limited half-open probe frees the probe slot", async () => {
		const guard = makeGuard({ openMs: 300 });
		const key = uniqueKey("limited-probe");
		const rateLimits = [{ key: `limit:${key}`, limit: 1, windowMs: 10_000 }];
		await guard.run(key, async () => "spend the only token", { rateLimits });
		await trip(guard, key);
		await eventually(async () => (await circuit(guard, key))?.state === "half_open", { what: "half-open" });
		expect((await turnedAway(guard.run(key, async () => "no", { rateLimits }))).options.reason).toBe(
			"rate_limited",
		);
		expect(await guard.run(key, async () => "probe")).toBe("probe");
		expect((await circuit(guard, key))?.state).toBe("closed");
	});
});

describe("Redis unreachable", () => {
	test("fails open: fn runs, its result and errors pass through, a warning is logged", async () => {
		const down = createRedis({ url: "http://127.0.0.1:9", token: "nothing-listens-here" });
		const guard = makeGuard({}, down);
		const before = logLines.length;
		const rateLimits = [{ key: "limit:down", limit: 1, windowMs: 1_000 }];
		expect(await guard.run("webhook:down.example", async () => "sent anyway", { rateLimits })).toBe(
			"sent anyway",
		);
		const error = unavailable();
		expect(await turnedAway(guard.run("webhook:down.example", () => Promise.reject(error)))).toBe(error);
		const warnings = logLines.slice(before).map((l) => JSON.parse(l) as { level: string; msg: string });
		expect(
			warnings.filter((w) => w.msg === "circuit breaker store unavailable, sending unguarded"),
		).toHaveLength(2);
		expect(warnings.every((w) => w.level === "warn")).toBe(true);
	});
});
