/**
 * The competition actor end to end, on a real worker, bridge and Temporal:
 * it starts and ends the competition on time, freezes the standings after
 * the grace period (syncs then get 409) and calculates the prizes; a
 * dispute upheld in the window excludes a participant (a new snapshot
 * version); distribute pays each allocation once through a local payout
 * provider that fails the first call, the competition settles and the
 * winners are notified; a second distribute is refused; the audit is
 * append-only.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Worker } from "@temporalio/worker";
import { WORKFLOWS_PATH } from "../src/app/worker.ts";
import { workflowIds } from "../workflows/kit/ids.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type DeliveryKit, deliveryKit } from "./support/delivery.ts";
import { HOUR, join, type PayoutProvider, startPayoutProvider, sync, walk } from "./support/fitness.ts";
import { register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

let t: TestApp;
let kit: DeliveryKit;
let actors: Actors;
let bridge: { stop(): Promise<void> };
let provider: PayoutProvider;

beforeAll(async () => {
	provider = startPayoutProvider((i) => (i === 0 ? new Response("busy", { status: 503 }) : undefined));
	t = await startTestApp({ FITNESS_DISPUTE_WINDOW_SECONDS: "4", FITNESS_GRACE_SECONDS: "1" });
	kit = await deliveryKit();
	actors = await startActors(t.db.sql, "prizes", {
		delivery: kit.deps,
		env: {
			FITNESS_GRACE_SECONDS: "1",
			PAYOUT_PROVIDER_URL: provider.url,
			PAYOUT_ALLOW_PRIVATE: "127.0.0.1",
			PAYOUT_TIMEOUT_MS: "2000",
		},
	});
	bridge = await actors.bridge(t.db.sql, 200);
}, 60_000);

afterAll(async () => {
	await bridge?.stop();
	await actors?.stop();
	await kit?.close();
	provider?.stop();
	await t?.stop();
});

describe("competition actor and prizes", () => {
	test("freeze, calculate, dispute, distribute exactly once, settle", async () => {
		const organiser = await register(t);
		const [a, b, c, cheat] = await Promise.all([register(t), register(t), register(t), register(t)]);
		const stranger = await register(t);
		const created = await t.request("POST", "/api/v1/competitions", {
			token: organiser.accessToken,
			body: {
				name: "Prize run",
				metric: "steps",
				timeZone: "Europe/Berlin",
				startsAt: new Date(Date.now() - HOUR).toISOString(),
				endsAt: new Date(Date.now() + 5000).toISOString(),
				prizePoolMinor: 10_000,
				currency: "EUR",
				payoutBps: [5000, 3000, 2000],
			},
		});
		expect(created.status).toBe(201);
		const id = created.body.id;
		await t.request("PATCH", `/api/v1/competitions/${id}`, {
			token: organiser.accessToken,
			body: { status: "open" },
		});
		for (const [user, steps] of [
			[a, 3000],
			[b, 2000],
			[c, 1000],
			[cheat, 4000],
		] as const) {
			await join(t, user.accessToken, id);
			await sync(t, user.accessToken, [walk("watch", "walk", steps, { endsAgoMin: 1 })]);
		}
		// The cheat's other record is implausible: stored, flagged, and it bars them from prizes.
		await sync(t, cheat.accessToken, [
			{ ...walk("watch", "car", 0, { minutes: 10, endsAgoMin: 20 }), kind: "run", distanceM: 9000 },
		]);

		await eventually(
			async () =>
				(await t.request("GET", `/api/v1/competitions/${id}`, { token: a.accessToken })).body.status ===
				"running",
			{ what: "running" },
		);
		const frozen = await eventually(
			async () => {
				const res = await t.request("GET", `/api/v1/competitions/${id}`, { token: a.accessToken });
				return res.body.frozenAt ? res.body : undefined;
			},
			{ what: "the freeze", timeoutMs: 30_000 },
		);
		expect(frozen.status).toBe("finished");
		const late = await sync(t, a.accessToken, [walk("phone", "late", 500, { endsAgoMin: 1 })]);
		expect(late.status).toBe(409);

		const first = await eventually(async () => {
			const res = await t.request("GET", `/api/v1/prizes/${id}`, { token: organiser.accessToken });
			return res.status === 200 ? res.body : undefined;
		});
		expect(first).toMatchObject({ status: "awaiting_approval", snapshotVersion: 1, totalMinor: 10_000 });
		expect(first.allocations.map((x: any) => [x.userId, x.amountMinor])).toEqual([
			[a.userId, 5000],
			[b.userId, 3000],
			[c.userId, 2000],
		]);
		expect((await t.request("GET", `/api/v1/prizes/${id}`, { token: stranger.accessToken })).status).toBe(
			404,
		);
		expect((await t.request("POST", `/api/v1/prizes/calculate/${id}`, { token: a.accessToken })).status).toBe(
			403,
		);
		expect(
			(await t.request("POST", `/api/v1/prizes/distribute/${id}`, { token: organiser.accessToken })).status,
		).toBe(409);

		// A dispute in the window: c is excluded, a new snapshot version, a new calculation.
		const dispute = await t.request("POST", `/api/v1/competitions/${id}/disputes`, {
			token: b.accessToken,
			body: { subjectUserId: c.userId, reason: "counted a car ride" },
		});
		expect(dispute.status).toBe(201);
		const upheld = await t.request("POST", `/api/v1/competitions/${id}/disputes/${dispute.body.id}/resolve`, {
			token: organiser.accessToken,
			body: { decision: "upheld" },
		});
		expect(upheld.body.status).toBe("upheld");
		const second = await t.request("POST", `/api/v1/prizes/calculate/${id}`, {
			token: organiser.accessToken,
		});
		expect(second.body).toMatchObject({ snapshotVersion: 2, totalMinor: 10_000 });
		expect(second.body.allocations.map((x: any) => [x.userId, x.amountMinor])).toEqual([
			[a.userId, 6250],
			[b.userId, 3750],
		]);

		const started = await eventually(
			async () => {
				const res = await t.request("POST", `/api/v1/prizes/distribute/${id}`, {
					token: organiser.accessToken,
				});
				return res.status === 202 ? res.body : undefined;
			},
			{ what: "the dispute window to close", timeoutMs: 15_000, intervalMs: 250 },
		);
		expect(started).toMatchObject({ calculationId: second.body.id, workflowId: `prizes:${second.body.id}` });
		expect(
			(await t.request("POST", `/api/v1/prizes/distribute/${id}`, { token: organiser.accessToken })).status,
		).toBe(409);

		const settled = await eventually(
			async () => {
				const res = await t.request("GET", `/api/v1/competitions/${id}`, { token: a.accessToken });
				return res.body.status === "settled" ? res.body : undefined;
			},
			{ what: "settled", timeoutMs: 30_000 },
		);
		expect(settled.status).toBe("settled");
		const paid = (await t.request("GET", `/api/v1/prizes/${id}`, { token: a.accessToken })).body;
		expect(paid.status).toBe("completed");
		expect(paid.allocations.every((x: any) => x.status === "confirmed")).toBe(true);
		const keys = paid.allocations.map((x: any) => `payout:${x.id}`).sort();
		expect([...provider.applied.keys()].sort()).toEqual(keys);
		expect([...provider.applied.values()]).toEqual([1, 1]);
		expect(provider.calls.length).toBe(3); // the 503 was retried with the same key
		expect(provider.calls.map((x) => x.body.amountMinor).sort()).toEqual([3750, 6250, 6250].sort());

		const prizes = await t.db
			.sql`select user_id::text from notifications where kind = 'prize' order by user_id`;
		expect(prizes.map((r) => r.user_id)).toEqual([a.userId, b.userId].sort());

		const audit = await t.request("GET", `/api/v1/competitions/${id}/audit`, {
			token: organiser.accessToken,
		});
		const actions = audit.body.items.map((i: any) => i.action);
		for (const step of [
			"created",
			"running",
			"finished",
			"frozen",
			"calculated",
			"dispute_filed",
			"resnapshot",
			"dispute_upheld",
			"distribution_approved",
			"payout_confirmed",
			"settled",
		])
			expect(actions).toContain(step);
		expect(
			(await t.request("GET", `/api/v1/competitions/${id}/audit`, { token: a.accessToken })).status,
		).toBe(403);
		await expect(
			t.db.sql`update competition_audit set action = 'x' where competition_id = ${id}`,
		).rejects.toThrow(/append-only/);
		await expect(t.db.sql`delete from competition_audit where competition_id = ${id}`).rejects.toThrow(
			/append-only/,
		);

		// Both histories replay on the code (no nondeterminism: timers, child, signals).
		for (const workflowId of [workflowIds.competition(id), workflowIds.prizes(second.body.id)]) {
			const history = await actors.temporal.client.workflow.getHandle(workflowId).fetchHistory();
			expect(history.events?.length ?? 0).toBeGreaterThan(10);
			await Worker.runReplayHistory(
				{ workflowsPath: WORKFLOWS_PATH, bundlerOptions: { ignoreModules: [] } },
				history,
				workflowId,
			);
		}
	}, 120_000);
});
