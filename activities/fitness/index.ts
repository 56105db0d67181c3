/**
 * What the competition actor and the prize distribution do to the world.
 *
 * - `syncCompetition`: applies the transitions that are due by the
 *   workflow's clock (open → running at the start, → finished at the end,
 *   the freeze once the grace period is over, and the latest snapshot's
 *   calculation whenever it has none, so a kill between the two is repaired) and
 *   tells the actor when to wake next and whether a distribution is approved.
 * - `pendingAllocations`, `payAllocation`: the ledger. An allocation goes
 *   `pending → submitted` before the HTTP call and `→ confirmed` (or
 *   `failed`, refused for good) after it; a retry after a crash finds it
 *   `submitted` and sends again with the same idempotency key, so the
 *   provider pays it once.
 * - `finishDistribution`: settles the competition and notifies the winners
 *   (one notification each, by key `prize:<allocation id>`, through their channels).
 */
import { ApplicationFailure } from "@temporalio/activity";
import { type Client, WorkflowExecutionAlreadyStartedError } from "@temporalio/client";
import { formatMinor } from "../../src/debts/money.ts";
import { Conflict } from "../../src/errors.ts";
import type { WorkerContext } from "../../src/feature.ts";
import { audit } from "../../src/fitness/competitions-repository.ts";
import { fitnessSettings } from "../../src/fitness/settings.ts";
import { calculate, freeze } from "../../src/fitness/standings.ts";
import type { Sql } from "../../src/infra/db/sql.ts";
import { createNotification } from "../../src/notifications/repository.ts";
import { DeliveryFailed } from "../../src/outbound/types.ts";
import { deliveryWorkflowId } from "../../workflows/delivery-plan.ts";
import { createPayoutSender } from "./payout.ts";

export interface CompetitionActorView {
	status: "draft" | "open" | "running" | "finished" | "distributing" | "settled" | "cancelled" | "deleted";
	/** When the actor should next wake (epoch ms), or null. */
	wakeAtMs: number | null;
	/** An approved calculation to distribute (its workflow runs as the actor's child). */
	distribute: string | null;
	/** The payout attempt's time limit, for the distribution's activity options. */
	payoutAttemptMs: number;
}

export type AllocationOutcome = { allocationId: string; status: "confirmed" | "failed" };

export function createFitnessActivities(
	ctx: Pick<WorkerContext, "sql" | "config" | "temporal" | "taskQueue" | "outbound">,
) {
	const { sql, temporal, taskQueue } = ctx;
	const settings = fitnessSettings(ctx.config);
	const graceMs = settings.graceSeconds * 1000;
	const payoutAttemptMs = settings.payoutTimeoutMs + 5000;
	const url = settings.payoutProviderUrl;
	const payout =
		url._tag === "Some"
			? createPayoutSender({
					url: url.value,
					allowPrivate: settings.payoutAllowPrivate,
					timeoutMs: settings.payoutTimeoutMs,
				})
			: undefined;

	async function syncCompetition(competitionId: string, nowMs: number): Promise<CompetitionActorView> {
		const view = (
			status: CompetitionActorView["status"],
			wakeAtMs: number | null,
			distribute: string | null = null,
		) => ({
			status,
			wakeAtMs,
			distribute,
			payoutAttemptMs,
		});
		const [c] = await sql<
			{
				status: CompetitionActorView["status"];
				starts_at: Date;
				ends_at: Date;
				frozen_at: Date | null;
				/** The latest snapshot has no calculation yet. */
				uncalculated: boolean;
			}[]
		>`
				select status, starts_at, ends_at, frozen_at,
				       exists (
				         select 1 from (select id from standings_snapshots s where s.competition_id = c.id
				                        order by s.version desc limit 1) latest
				         where not exists (select 1 from prize_calculations p where p.snapshot_id = latest.id)
				       ) as uncalculated
				from competitions c where id = ${competitionId}`;
		if (!c) return view("deleted", null);
		const now = new Date(nowMs);
		if (c.status === "open" && now >= c.starts_at) {
			await transition(sql, competitionId, "open", "running");
			return syncCompetition(competitionId, nowMs);
		}
		if (c.status === "running" && now >= c.ends_at) {
			await transition(sql, competitionId, "running", "finished");
			return syncCompetition(competitionId, nowMs);
		}
		if (c.status === "finished" && !c.frozen_at) {
			const due = c.ends_at.getTime() + graceMs;
			if (nowMs < due) return view("finished", due);
			await freeze(sql, competitionId);
			return syncCompetition(competitionId, nowMs);
		}
		if (c.status === "finished" && c.uncalculated) {
			// The latest snapshot's calculation, also when a worker died between the freeze and it (the
			// retried attempt finds the competition frozen). Only the domain's refusal is final (e.g. the
			// prizes are already being distributed); anything else fails the attempt and Temporal retries.
			await calculate(sql, competitionId, null).catch((error) => {
				if (!(error instanceof Conflict)) throw error;
			});
			return view("finished", null);
		}
		if (c.status === "distributing") {
			const [calc] = await sql<{ id: string }[]>`
					select id::text from prize_calculations where competition_id = ${competitionId} and status = 'approved'`;
			return view("distributing", null, calc?.id ?? null);
		}
		if (c.status === "open") return view("open", c.starts_at.getTime());
		if (c.status === "running") return view("running", c.ends_at.getTime());
		return view(c.status, null);
	}

	return {
		syncCompetition,

		async pendingAllocations(calculationId: string): Promise<string[]> {
			const rows = await sql<{ id: string }[]>`
				select id::text from prize_allocations
				where calculation_id = ${calculationId} and status in ('pending', 'submitted') order by rank, user_id`;
			return rows.map((r) => r.id);
		},

		async payAllocation(allocationId: string): Promise<AllocationOutcome> {
			const [a] = await sql<
				{
					status: string;
					user_id: string;
					amount_minor: number;
					currency: string;
					competition_id: string;
					calculation_id: string;
				}[]
			>`
				update prize_allocations a set status = case when a.status = 'pending' then 'submitted' else a.status end
				from prize_calculations p
				where a.id = ${allocationId} and p.id = a.calculation_id
				returning a.status, a.user_id::text, a.amount_minor::float8 as amount_minor, p.currency,
				          p.competition_id::text, p.id::text as calculation_id`;
			if (!a)
				throw ApplicationFailure.nonRetryable(`allocation ${allocationId} is gone`, "AllocationMissing");
			if (a.status === "confirmed" || a.status === "failed") return { allocationId, status: a.status };
			// Retryable: the distribution waits (with backoff) until a provider is configured.
			if (!payout)
				throw ApplicationFailure.retryable("PAYOUT_PROVIDER_URL is not configured", "PayoutNotConfigured");
			const request = {
				allocationId,
				userId: a.user_id,
				amountMinor: a.amount_minor,
				currency: a.currency,
				reference: `competition:${a.competition_id}:calculation:${a.calculation_id}`,
			};
			try {
				const run = () => payout.pay(request);
				const paid = ctx.outbound ? await ctx.outbound.guard.run(payout.destination, run) : await run();
				await sql`update prize_allocations set status = 'confirmed', provider_reference = ${paid.reference}
					where id = ${allocationId} and status = 'submitted'`;
				await audit(sql, a.competition_id, null, "payout_confirmed", {
					allocationId,
					reference: paid.reference,
				});
				return { allocationId, status: "confirmed" };
			} catch (error) {
				const failed = error instanceof DeliveryFailed ? error : undefined;
				const message = error instanceof Error ? error.message : String(error);
				if (failed && !failed.retryable) {
					await sql`update prize_allocations set status = 'failed', failure = ${message.slice(0, 500)}
						where id = ${allocationId} and status = 'submitted'`;
					await audit(sql, a.competition_id, null, "payout_failed", {
						allocationId,
						error: message.slice(0, 500),
					});
					return { allocationId, status: "failed" };
				}
				throw ApplicationFailure.create({
					message,
					type: "PayoutRetryable",
					nextRetryDelay: failed?.options.retryAfterMs,
				});
			}
		},

		async finishDistribution(calculationId: string): Promise<{ notified: number }> {
			const ids = await sql.begin(async (tx) => {
				const [calc] = await tx<{ competition_id: string; currency: string; name: string }[]>`
					update prize_calculations p set status = 'completed'
					from competitions c where p.id = ${calculationId} and c.id = p.competition_id
					returning p.competition_id::text, p.currency, c.name`;
				if (!calc) return [];
				await tx`update competitions set status = 'settled' where id = ${calc.competition_id} and status = 'distributing'`;
				const paid = await tx<{ id: string; user_id: string; amount_minor: number; rank: number }[]>`
					select id::text, user_id::text, amount_minor::float8 as amount_minor, rank from prize_allocations
					where calculation_id = ${calculationId} and status = 'confirmed'`;
				const ids: string[] = [];
				for (const p of paid) {
					const { row } = await createNotification(tx, {
						userId: p.user_id,
						kind: "prize",
						title: `You won a prize in ${calc.name}`,
						body: `Position ${p.rank}: ${formatMinor(p.amount_minor, calc.currency)} ${calc.currency} is on its way.`,
						data: {
							competitionId: calc.competition_id,
							allocationId: p.id,
							amountMinor: p.amount_minor,
							currency: calc.currency,
						},
						dedupeKey: `prize:${p.id}`,
					});
					ids.push(row.id);
				}
				await audit(tx, calc.competition_id, null, "settled", { calculationId, paid: paid.length });
				return ids;
			});
			await Promise.all(ids.map((id) => deliver(temporal, taskQueue, id)));
			return { notified: ids.length };
		},
	};
}

async function transition(sql: Sql, id: string, from: string, to: string): Promise<void> {
	await sql.begin(async (tx) => {
		const [row] =
			await tx`update competitions set status = ${to} where id = ${id} and status = ${from} returning id`;
		if (row) await audit(tx, id, null, to);
	});
}

function deliver(temporal: Client, taskQueue: string, notificationId: string) {
	return temporal.workflow
		.start("deliverNotification", {
			workflowId: deliveryWorkflowId(notificationId),
			taskQueue,
			args: [{ notificationId }],
		})
		.catch((error) => {
			if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
		});
}
