/**
 * What the delivery workflow and its activities share: the plan for one
 * notification and the retry policy of each channel kind. Pure: the
 * workflow can't read configuration, so `planDeliveries` (an activity, on
 * the worker that has the configuration) returns the policies with the plan.
 */
import type { ActivityOptions } from "@temporalio/workflow";

/** Every kind of channel, in one place (the schema, senders, policies and this workflow use it). */
export const CHANNEL_KINDS = ["webhook", "email", "telegram"] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
export type DeliveryKind = ChannelKind;

export interface KindPolicy {
	initialIntervalMs: number;
	backoffCoefficient: number;
	maximumIntervalMs: number;
	maximumAttempts: number;
	/** One attempt's time limit: past it (e.g. the worker died) Temporal runs the next attempt. */
	startToCloseMs: number;
}

export interface PlannedDelivery {
	deliveryId: string;
	kind: DeliveryKind;
}

export interface DeliveryPlan {
	notificationId: string;
	/** Pending deliveries only: delivered or failed ones are not sent again. */
	deliveries: PlannedDelivery[];
	policies: Record<DeliveryKind, KindPolicy>;
}

export interface DeliverResult {
	deliveryId: string;
	status: "delivered" | "skipped";
	statusCode?: number;
}

/** Failure types that end a delivery at once (the activity also throws them non-retryable). */
export const PERMANENT_DELIVERY_ERRORS = ["DeliveryRejected", "DeliveryNotConfigured"];

/** A kind's policy as the options of the activity that sends once: its time limit and Temporal's retries. */
export const sendOptions = (policy: KindPolicy): ActivityOptions => ({
	startToCloseTimeout: policy.startToCloseMs,
	retry: {
		initialInterval: policy.initialIntervalMs,
		backoffCoefficient: policy.backoffCoefficient,
		maximumInterval: policy.maximumIntervalMs,
		maximumAttempts: policy.maximumAttempts,
		nonRetryableErrorTypes: PERMANENT_DELIVERY_ERRORS,
	},
});

/** `delivery:<notification id>`: one delivery workflow per notification (see kit/ids.ts). */
export const deliveryWorkflowId = (notificationId: string): string => `delivery:${notificationId}`;
