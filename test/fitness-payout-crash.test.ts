/**
 * A worker killed in the middle of a prize distribution: the distribution
 * runs on a worker in a child process; the payout provider applies the
 * second payout and then holds its answer; the child is SIGKILLed while that
 * call is in flight. A new worker on the same task queue takes over after
 * the attempt's time limit, resends the second payout with the same
 * idempotency key (`payout:<allocation id>`) and pays the third: the
 * provider applied every allocation exactly once, and the ledger ends
 * confirmed for all of them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { calculate, freeze } from "../src/fitness/standings.ts";
import { connectTemporalClient, type TemporalClientHandle } from "../src/infra/temporal/client.ts";
import { workflowIds } from "../workflows/kit/ids.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type DeliveryKit, deliveryKit, spawnDeliveryWorker } from "./support/delivery.ts";
import { testEnv } from "./support/env.ts";
import {
	HOUR,
	join,
	openCompetition,
	type PayoutProvider,
	startPayoutProvider,
	sync,
	walk,
} from "./support/fitness.ts";
import { register } from "./support/tokens.ts";

let t: TestApp;
let kit: DeliveryKit;
let temporal: TemporalClientHandle;
let provider: PayoutProvider;
let actors: Actors | undefined;
let child: ReturnType<typeof Bun.spawn> | undefined;
let secondArrived: Promise<void>;

beforeAll(async () => {
	let arrived = () => {};
	secondArrived = new Promise<void>((resolve) => {
		arrived = resolve;
	});
	provider = startPayoutProvider((i) => {
		if (i !== 1) return undefined;
		arrived();
		return new Promise<Response>(() => {}); // applied, but the answer never comes
	});
	t = await startTestApp();
	kit = await deliveryKit();
	const env = await testEnv();
	temporal = await connectTemporalClient({ address: env.temporalAddress, namespace: "default" });
});

afterAll(async () => {
	if (child && child.exitCode === null) child.kill("SIGKILL");
	await actors?.stop();
	await temporal.close();
	await kit.close();
	provider.stop();
	await t.stop();
});

const PAYOUT_ENV = { PAYOUT_ALLOW_PRIVATE: "127.0.0.1", PAYOUT_TIMEOUT_MS: "2000" };

describe("a worker killed mid-distribution", () => {
	test("every allocation is paid exactly once", async () => {
		const organiser = await register(t);
		const c = await openCompetition(t, organiser.accessToken, {
			startsAt: new Date(Date.now() - 2 * HOUR).toISOString(),
			prizePoolMinor: 9_000,
			payoutBps: [5000, 3000, 2000],
		});
		const users = await Promise.all([register(t), register(t), register(t)]);
		for (const [i, u] of users.entries()) {
			await join(t, u.accessToken, c.id);
			await sync(t, u.accessToken, [walk("watch", "w", 3000 - i * 1000)]);
		}
		// Ended, frozen, calculated and approved, as the actor and the organiser would leave it.
		await t.db
			.sql`update competitions set ends_at = now() - interval '1 minute', status = 'finished' where id = ${c.id}`;
		await freeze(t.db.sql, c.id);
		const calc = await calculate(t.db.sql, c.id, organiser.userId);
		expect(calc.allocations.map((a) => a.amountMinor)).toEqual([4500, 2700, 1800]);
		await t.db.sql`update prize_calculations set status = 'approved' where id = ${calc.id}`;
		await t.db.sql`update competitions set status = 'distributing' where id = ${c.id}`;

		const taskQueue = `test-payout-crash-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
		const env = { ...PAYOUT_ENV, PAYOUT_PROVIDER_URL: provider.url };
		child = await spawnDeliveryWorker(kit, t.db.url, taskQueue, env);
		const handle = await temporal.client.workflow.start("prizeDistribution", {
			workflowId: workflowIds.prizes(calc.id),
			taskQueue,
			args: [{ calculationId: calc.id, attemptTimeoutMs: 3000 }],
		});
		await secondArrived;
		child.kill("SIGKILL");
		expect(await child.exited).not.toBe(0);
		const midway = await t.db.sql<{ status: string }[]>`
			select status from prize_allocations where calculation_id = ${calc.id} order by rank`;
		expect(midway.map((r) => r.status)).toEqual(["confirmed", "submitted", "pending"]);

		actors = await startActors(t.db.sql, "payout-crash", { delivery: kit.deps, taskQueue, env });
		const report = (await handle.result()) as { outcomes: Array<{ status: string }>; notified: number };
		expect(report.outcomes.map((o) => o.status)).toEqual(["confirmed", "confirmed", "confirmed"]);
		expect(report.notified).toBe(3);

		const keys = calc.allocations.map((a) => `payout:${a.id}`);
		expect([...provider.applied.entries()].sort()).toEqual(
			keys.map((k) => [k, 1] as [string, number]).sort(),
		);
		const second = keys[1]!;
		expect(provider.calls.filter((call) => call.key === second).length).toBeGreaterThanOrEqual(2);
		const ledger = await t.db.sql<{ status: string; provider_reference: string | null }[]>`
			select status, provider_reference from prize_allocations where calculation_id = ${calc.id} order by rank`;
		expect(ledger.every((r) => r.status === "confirmed" && r.provider_reference?.startsWith("po_"))).toBe(
			true,
		);
		const [comp] = await t.db.sql`select status from competitions where id = ${c.id}`;
		expect(comp!.status).toBe("settled");
	}, 90_000);
});
