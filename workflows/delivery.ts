/**
 * Delivers one notification to every channel of its user
 * (`delivery:<notification id>`): plan the deliveries, then send them
 * concurrently, each under its kind's retry policy. A delivery whose
 * attempts run out (or that the destination refused for good) is marked
 * failed; the others are unaffected.
 */
import { ActivityFailure, ApplicationFailure } from "@temporalio/workflow";
import type { createDeliveryActivities } from "../activities/deliveries/index.ts";
import { type DeliverResult, type KindPolicy, type PlannedDelivery, sendOptions } from "./delivery-plan.ts";
import { featureActivities } from "./kit/activities.ts";

type Activities = ReturnType<typeof createDeliveryActivities>;

const { planDeliveries, markDeliveryFailed } = featureActivities<Activities>("deliveries");

export interface DeliverNotificationInput {
	notificationId: string;
}

export interface DeliveryReport {
	notificationId: string;
	deliveries: {
		deliveryId: string;
		kind: PlannedDelivery["kind"];
		status: "delivered" | "failed" | "skipped";
	}[];
}

export async function deliverNotification(input: DeliverNotificationInput): Promise<DeliveryReport> {
	const plan = await planDeliveries(input.notificationId);
	const deliveries = await Promise.all(
		plan.deliveries.map(async (d) => ({ ...d, status: await deliverOne(d, plan.policies[d.kind]) })),
	);
	return { notificationId: input.notificationId, deliveries };
}

async function deliverOne(
	d: PlannedDelivery,
	policy: KindPolicy,
): Promise<DeliverResult["status"] | "failed"> {
	const { deliver } = featureActivities<Activities>("deliveries", sendOptions(policy));
	try {
		return (await deliver(d.deliveryId)).status;
	} catch (error) {
		if (!(error instanceof ActivityFailure)) throw error;
		await markDeliveryFailed(d.deliveryId, failureMessage(error));
		return "failed";
	}
}

function failureMessage(error: ActivityFailure): string {
	const cause = error.cause;
	if (cause instanceof ApplicationFailure) return cause.message;
	return cause?.message ? `${cause.name}: ${cause.message}` : error.message;
}
