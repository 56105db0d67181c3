/**
 * The reconciler, started by a Temporal Schedule every few minutes
 * (RECONCILE_INTERVAL_SECONDS). The outbox and the bridge make delivery
 * reliable; this repairs what they cannot see: an actor terminated by hand
 * or lost with its history, an actor whose row was deleted while nobody
 * delivered the change, a notification whose delivery workflow was never
 * started because a worker died between the commit and Temporal recording
 * the result. What it repaired is recorded (and shown in /api/v1/health).
 */
import type { createMaintenanceActivities } from "../activities/maintenance/index.ts";
import { featureActivities } from "./kit/activities.ts";

const { listActorTypes, reconcileActors, reconcileDeliveries, recordReconcileRun } = featureActivities<
	ReturnType<typeof createMaintenanceActivities>
>("maintenance", {
	startToCloseTimeout: "10 minutes",
	heartbeatTimeout: "2 minutes",
	retry: { initialInterval: "5 seconds", maximumAttempts: 3 },
});

export interface ReconcileResult {
	/** `<actor>.started`, `<actor>.ended`, `deliveries.started`: how many of each were repaired. */
	readonly repaired: Record<string, number>;
}

export async function reconcile(): Promise<ReconcileResult> {
	const repaired: Record<string, number> = {};
	for (const type of await listActorTypes()) {
		const { started, ended } = await reconcileActors(type);
		repaired[`${type}.started`] = started;
		repaired[`${type}.ended`] = ended;
	}
	repaired["deliveries.started"] = await reconcileDeliveries();
	await recordReconcileRun(repaired);
	return { repaired };
}
