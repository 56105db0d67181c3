/**
 * Two OS processes, one circuit: a second `bun` process (test/fixtures/guard-worker.ts)
 * trips the circuit of a destination in Redis; this process sees it open, no
 * process reaches the destination until the circuit is half-open, exactly one
 * probe passes, and `reset` here closes the circuit for the other process too.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createLogger } from "../src/infra/log.ts";
import { createRedis } from "../src/infra/redis/client.ts";
import { createDestinationGuard } from "../src/outbound/guard.ts";
import { DeliveryFailed } from "../src/outbound/types.ts";
import { testEnv } from "./support/env.ts";
import { deleteKeys } from "./support/redis.ts";
import { eventually } from "./support/wait.ts";

const infra = await testEnv();
const redis = createRedis({ url: infra.redisRestUrl, token: infra.redisRestToken });
const prefix = `test:guard-processes:${process.pid}:${crypto.randomUUID().slice(0, 8)}:`;
const FAILURES = 3;

/** The destination: counts every request with its arrival time; 503 until healthy; can hold requests. */
const hits: { at: number; from: string }[] = [];
let healthy = false;
let hold: Promise<void> | undefined;
const target = Bun.serve({
	port: 0,
	hostname: "127.0.0.1",
	async fetch(req) {
		hits.push({ at: Date.now(), from: await req.text() });
		if (hold) await hold;
		return new Response(null, { status: healthy ? 200 : 503 });
	},
});

const guards: ReturnType<typeof createDestinationGuard>[] = [];
const makeGuard = (openMs: number) => {
	const guard = createDestinationGuard(
		redis,
		{ failures: FAILURES, openMs, telegramPerChat: 1, telegramGlobal: 30, prefix },
		createLogger("warn"),
	);
	guards.push(guard);
	return guard;
};

afterAll(async () => {
	await Promise.all(guards.map((g) => g.dispose()));
	target.stop(true);
	await deleteKeys(redis, prefix);
});

type Outcome = { ran: boolean; status?: number; reason?: string; retryAfterMs?: number };

/** Runs the other process to completion; its last JSON line. */
async function otherProcess(mode: string, key: string, openMs: number): Promise<Record<string, any>> {
	const child = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures", "guard-worker.ts")], {
		cwd: join(import.meta.dir, ".."),
		env: {
			...process.env,
			GUARD_REDIS_URL: infra.redisRestUrl,
			GUARD_REDIS_TOKEN: infra.redisRestToken,
			GUARD_PREFIX: prefix,
			GUARD_KEY: key,
			GUARD_TARGET: target.url.href,
			GUARD_FAILURES: String(FAILURES),
			GUARD_OPEN_MS: String(openMs),
			GUARD_MODE: mode,
		},
		stdout: "pipe",
		stderr: "pipe",
	});
	const [stdout, stderr, exitCode] = await Promise.all([
		new Response(child.stdout).text(),
		new Response(child.stderr).text(),
		child.exited,
	]);
	if (exitCode !== 0) throw new Error(`guard-worker ${mode} exited with ${exitCode}: ${stderr}`);
	const line = stdout.trim().split("\n").at(-1) ?? "";
	const result = JSON.parse(line) as Record<string, any>;
	expect(result.pid).not.toBe(process.pid);
	return result;
}

/** This process's delivery: the same request the other process sends. */
async function deliverHere(guard: ReturnType<typeof createDestinationGuard>, key: string): Promise<Outcome> {
	let ran = false;
	try {
		const status = await guard.run(key, async () => {
			ran = true;
			return (await fetch(target.url, { method: "POST", body: String(process.pid) })).status;
		});
		return { ran, status };
	} catch (error) {
		if (!(error instanceof DeliveryFailed)) throw error;
		return { ran, reason: error.options.reason, retryAfterMs: error.options.retryAfterMs };
	}
}

async function tripElsewhere(key: string, openMs: number): Promise<number> {
	healthy = false;
	const before = hits.length;
	const tripped = await otherProcess("trip", key, openMs);
	expect(tripped.event).toBe("tripped");
	expect(tripped.outcomes).toEqual(Array(FAILURES).fill({ ran: true, status: 503 }));
	expect(hits.length - before).toBe(FAILURES);
	return hits.at(-1)!.at;
}

describe("a circuit shared by two processes", () => {
	test("tripped there, open here; no process calls the destination until half-open; one probe closes it", async () => {
		const openMs = 3_000;
		const guard = makeGuard(openMs);
		const key = `webhook:shared-${crypto.randomUUID().slice(0, 8)}.example`;
		const trippedAt = await tripElsewhere(key, openMs);
		const afterTrip = hits.length;

		// Open here: turned away five times, the destination is never called.
		for (let i = 0; i < 5; i++) {
			let called = false;
			await expect(
				guard.run(key, async () => {
					called = true;
				}),
			).rejects.toMatchObject({ retryable: true, options: { reason: "circuit_open" } });
			expect(called).toBe(false);
		}
		const here = await deliverHere(guard, key);
		expect(here).toMatchObject({ ran: false, reason: "circuit_open" });
		expect((await guard.list()).find((c) => c.key === key)).toMatchObject({ state: "open" });

		// The other process delivers every 10 ms; the destination recovered, but
		// the first request to reach it (the probe) is held until we let it go.
		healthy = true;
		const release = Promise.withResolvers<void>();
		hold = release.promise;
		const hammered = otherProcess("hammer", key, openMs);
		try {
			await eventually(() => hits.length > afterTrip, { timeoutMs: openMs + 10_000, what: "the probe" });
			const probe = hits[afterTrip]!;
			expect(probe.at).toBeGreaterThanOrEqual(trippedAt + openMs - 50);
			expect(probe.from).not.toBe(String(process.pid));
			// While the probe is in flight, this process is turned away.
			const meanwhile = await deliverHere(guard, key);
			expect(meanwhile).toMatchObject({ ran: false, reason: "circuit_open" });
			expect((await guard.list()).find((c) => c.key === key)).toEqual({ key, state: "half_open" });
		} finally {
			hold = undefined;
			release.resolve();
		}
		const result = await hammered;
		expect(result.admitted).toEqual({ ran: true, status: 200 });
		expect(result.rejected).toBeGreaterThan(0);
		// Across both processes: nothing reached the destination while the circuit was open.
		expect(hits.slice(afterTrip)).toHaveLength(1);

		expect((await guard.list()).find((c) => c.key === key)).toEqual({ key, state: "closed", failures: 0 });
		expect(await deliverHere(guard, key)).toEqual({ ran: true, status: 200 });
	}, 30_000);

	test("reset here closes a circuit the other process opened, for the other process too", async () => {
		const openMs = 60_000;
		const guard = makeGuard(openMs);
		const key = `webhook:reset-${crypto.randomUUID().slice(0, 8)}.example`;
		await tripElsewhere(key, openMs);
		healthy = true;

		let called = false;
		const error = await guard
			.run(key, async () => {
				called = true;
			})
			.catch((e: unknown) => e);
		expect(called).toBe(false);
		if (!(error instanceof DeliveryFailed)) throw new Error(`expected DeliveryFailed, got ${String(error)}`);
		expect(error.options.reason).toBe("circuit_open");
		expect(error.options.retryAfterMs).toBeGreaterThan(50_000);
		expect(error.options.retryAfterMs).toBeLessThanOrEqual(openMs);
		expect(await otherProcess("try", key, openMs)).toMatchObject({ ran: false, reason: "circuit_open" });

		expect(await guard.reset(key)).toBe(true);
		expect(await otherProcess("try", key, openMs)).toMatchObject({ ran: true, status: 200 });
		expect(await deliverHere(guard, key)).toEqual({ ran: true, status: 200 });
	}, 30_000);
});
