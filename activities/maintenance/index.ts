/**
 * Platform upkeep over every feature: the daily cleanup runs each feature's
 * cleanup tasks; the reconciler repairs what a crash between two systems can
 * leave behind (a row change whose actor never started, an actor whose row
 * is gone, a notification whose delivery workflow was never started).
 */
import { ApplicationFailure, Context } from "@temporalio/activity";
import { WorkflowExecutionAlreadyStartedError } from "@temporalio/client";
import type { ActorBinding, CleanupTask, WorkerContext } from "../../src/feature.ts";
import { counter } from "../../src/infra/metrics.ts";
import { maintenanceSettings } from "../../src/maintenance/settings.ts";
import { deliverNotification } from "../../workflows/delivery.ts";
import { deliveryWorkflowId } from "../../workflows/delivery-plan.ts";
import type { Change } from "../../workflows/kit/change.ts";

const PAGE = 1000;

/** The change the reconciler sends: stale by design (outbox id 0), so the actor re-reads its row. */
const recheck = (entityKey: string): Change[] => [
	{ outboxId: 0, table: "reconcile", operation: "UPDATE", rowId: entityKey },
];

const reconcilerRepairs = counter(
	"herald_reconciler_repairs_total",
	"What the reconciler repaired: actor_started | actor_ended | delivery_started",
	["kind"],
);

export interface ActorRepair {
	/** Live entities that had no running actor: started. */
	started: number;
	/** Running actors whose entity is gone or no longer live: told to re-read (they end). */
	ended: number;
}

export function createMaintenanceActivities(ctx: WorkerContext) {
	const { sql, temporal, taskQueue, log } = ctx;
	const tasks = new Map<string, CleanupTask>(ctx.features.flatMap((f) => Object.entries(f.cleanup ?? {})));
	const bindings = new Map<string, ActorBinding>(
		ctx.features.flatMap((f) => (f.actors ?? []).map((b) => [b.actor.workflowType, b] as const)),
	);

	async function runningKeys(binding: ActorBinding): Promise<Set<string>> {
		const keys = new Set<string>();
		const query = `WorkflowType = '${binding.actor.workflowType}' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'`;
		for await (const wf of temporal.workflow.list({ query }))
			if (wf.workflowId.startsWith(binding.actor.idPrefix))
				keys.add(wf.workflowId.slice(binding.actor.idPrefix.length));
		return keys;
	}

	return {
		async listCleanupTasks(): Promise<string[]> {
			return [...tasks.keys()];
		},
		async runCleanupTask(name: string): Promise<number> {
			const task = tasks.get(name);
			if (!task) throw ApplicationFailure.nonRetryable(`unknown cleanup task ${name}`, "UnknownCleanupTask");
			return task(sql, ctx.config, log);
		},
		async recordCleanupRun(removed: Record<string, number>): Promise<void> {
			await sql`insert into cleanup_runs (removed) values (${sql.json(removed)})`;
		},

		async listActorTypes(): Promise<string[]> {
			return [...bindings.keys()];
		},

		/** Every live entity has its actor running; running actors of entities no longer live re-read and end. */
		async reconcileActors(workflowType: string): Promise<ActorRepair> {
			const binding = bindings.get(workflowType);
			if (!binding) throw ApplicationFailure.nonRetryable(`unknown actor ${workflowType}`, "UnknownActor");
			const { actor } = binding;
			const running = await runningKeys(binding);
			const repair: ActorRepair = { started: 0, ended: 0 };
			for (let after = "", page: string[]; ; after = page.at(-1)!) {
				Context.current().heartbeat(after); // a long table: Temporal knows the activity is alive
				page = await binding.liveKeys(sql, after, PAGE);
				for (const key of page) {
					if (running.delete(key)) continue;
					await temporal.workflow.signalWithStart(actor.workflowType, {
						workflowId: actor.workflowId(key),
						taskQueue,
						args: [{ entityKey: key }],
						signal: actor.signal,
						signalArgs: [recheck(key)],
					});
					repair.started++;
				}
				if (page.length < PAGE) break;
			}
			for (const key of running) {
				await temporal.workflow
					.getHandle(actor.workflowId(key))
					.signal(actor.signal, recheck(key))
					.catch(() => {}); // it ended meanwhile
				repair.ended++;
			}
			if (repair.started + repair.ended > 0)
				log.warn("reconciler repaired actors", { workflowType, ...repair });
			reconcilerRepairs.inc({ kind: "actor_started" }, repair.started);
			reconcilerRepairs.inc({ kind: "actor_ended" }, repair.ended);
			return repair;
		},

		/** Notifications past the grace period whose delivery workflow never planned them get one. */
		async reconcileDeliveries(): Promise<number> {
			const { reconcileGraceSeconds } = maintenanceSettings(ctx.config);
			const rows = await sql<{ id: string }[]>`
				select id from notifications
				where delivery_planned_at is null
				  and created_at < now() - make_interval(secs => ${reconcileGraceSeconds})
				order by created_at limit ${PAGE}`;
			let started = 0;
			for (const { id } of rows) {
				try {
					await temporal.workflow.start(deliverNotification, {
						workflowId: deliveryWorkflowId(id),
						taskQueue,
						args: [{ notificationId: id }],
					});
					started++;
				} catch (error) {
					if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
				}
			}
			if (started > 0) log.warn("reconciler started missing deliveries", { started });
			reconcilerRepairs.inc({ kind: "delivery_started" }, started);
			return started;
		},

		async recordReconcileRun(repaired: Record<string, number>): Promise<void> {
			await sql`insert into reconcile_runs (repaired) values (${sql.json(repaired)})`;
		},
	};
}
