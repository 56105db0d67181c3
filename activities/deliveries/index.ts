/**
 * Delivery activities: plan one delivery per channel of a notification's
 * user, then send each through its sender, guarded by the destination's
 * circuit and rate limits. Every attempt is recorded; the idempotency key is
 * the delivery's, the same for every attempt, so receivers can deduplicate.
 */
import { ApplicationFailure, Context } from "@temporalio/activity";
import { Option } from "effect";
import type { HeraldConfig } from "../../src/config.ts";
import { secret } from "../../src/config-kit.ts";
import { deliveryAttemptSeconds, deliveryAttempts } from "../../src/deliveries/metrics.ts";
import { deliveryPolicies } from "../../src/deliveries/policy.ts";
import {
	type AttemptOutcome,
	beginAttempt,
	failDelivery,
	finishAttempt,
	loadDelivery,
	planDeliveryRows,
} from "../../src/deliveries/repository.ts";
import { deliveryRequest, describeDestination, redactError } from "../../src/deliveries/request.ts";
import type { Sql } from "../../src/infra/db/sql.ts";
import { inSpan, SpanKind } from "../../src/infra/tracing.ts";
import type { DestinationGuard } from "../../src/outbound/guard.ts";
import {
	type ChannelKind,
	DeliveryFailed,
	destinationKey,
	type Sender,
	type SendOutcome,
} from "../../src/outbound/types.ts";
import type { DeliverResult, DeliveryPlan } from "../../workflows/delivery-plan.ts";

export type DeliverySettings = HeraldConfig["delivery"];

/** What a worker needs to send: one sender per kind, the guard, and the delivery configuration. */
export interface DeliveryDeps {
	senders: Record<ChannelKind, Sender>;
	guard: Pick<DestinationGuard, "run" | "limitsFor">;
	settings: DeliverySettings;
}

export function createDeliveryActivities(deps: {
	sql: Sql;
	/** The worker's delivery configuration (policies, redaction of secrets). */
	settings: DeliverySettings;
	/** Senders and guard; without them deliveries are planned but `deliver` fails (non-retryable). */
	delivery?: DeliveryDeps;
}) {
	const { sql } = deps;
	const settings = () => deps.delivery?.settings ?? deps.settings;
	const secrets = () =>
		[settings().telegramBotToken, settings().smtpPassword].flatMap((o) =>
			Option.isSome(o) ? [secret(o.value)] : [],
		);

	return {
		/** Idempotent: a second call adds only channels that appeared since, and returns what is still pending. */
		async planDeliveries(notificationId: string): Promise<DeliveryPlan> {
			const rows = await planDeliveryRows(sql, notificationId); // marks the notification planned
			return {
				notificationId,
				deliveries: rows.map((r) => ({ deliveryId: r.id, kind: r.kind })),
				policies: deliveryPolicies(settings()),
			};
		},

		/**
		 * One attempt. Throws `DeliveryRejected` (non-retryable) when the
		 * destination refused for good, `DeliveryRetryable` otherwise — with
		 * `nextRetryDelay` when the destination, an open circuit or a rate limit
		 * said how long to wait.
		 */
		async deliver(deliveryId: string): Promise<DeliverResult> {
			const ctx = await loadDelivery(sql, deliveryId);
			if (!ctx) return { deliveryId, status: "skipped" }; // channel or notification deleted
			if (ctx.delivery.status === "delivered") return { deliveryId, status: "delivered" };
			if (ctx.delivery.status === "failed") return { deliveryId, status: "skipped" };
			if (!ctx.channel.enabled) {
				await failDelivery(sql, deliveryId, "channel disabled");
				return { deliveryId, status: "skipped" };
			}
			if (!deps.delivery)
				throw ApplicationFailure.nonRetryable(
					"delivery is not configured on this worker",
					"DeliveryNotConfigured",
				);
			const { senders, guard } = deps.delivery;
			const request = deliveryRequest(ctx, Context.current().info.attempt);
			const target = request.target;
			const attemptId = await beginAttempt(sql, deliveryId, request.attempt, describeDestination(target));
			const started = performance.now();
			let sent: SendOutcome;
			try {
				// The outbound call is a client span (the webhook's `traceparent` names it): kind and
				// attempt only, never the destination's URL, address or token.
				const send = () =>
					inSpan(
						`send ${target.kind}`,
						{
							kind: SpanKind.CLIENT,
							attributes: { "herald.channel_kind": target.kind, "herald.attempt": request.attempt },
						},
						() => senders[target.kind](request),
					);
				sent = await guard.run(destinationKey(target, settings()), send, {
					rateLimits: guard.limitsFor(target),
				});
			} catch (error) {
				const failed = error instanceof DeliveryFailed ? error : undefined;
				const message = redactError(
					error instanceof Error ? error.message : String(error),
					target,
					secrets(),
				);
				const outcome = outcomeOf(failed);
				deliveryAttempts.inc({ kind: target.kind, outcome });
				deliveryAttemptSeconds.observe({ kind: target.kind }, (performance.now() - started) / 1000);
				await finishAttempt(sql, deliveryId, attemptId, {
					outcome,
					statusCode: failed?.options.statusCode,
					latencyMs: performance.now() - started,
					error: message,
				});
				if (failed && !failed.retryable) throw ApplicationFailure.nonRetryable(message, "DeliveryRejected");
				throw ApplicationFailure.create({
					message,
					type: "DeliveryRetryable",
					nextRetryDelay: failed?.options.retryAfterMs,
				});
			}
			deliveryAttempts.inc({ kind: target.kind, outcome: "ok" });
			deliveryAttemptSeconds.observe({ kind: target.kind }, (performance.now() - started) / 1000);
			// Sent. Should this write fail, the retry sends again with the same idempotency key.
			await finishAttempt(sql, deliveryId, attemptId, {
				outcome: "ok",
				statusCode: sent.statusCode,
				latencyMs: performance.now() - started,
			});
			return { deliveryId, status: "delivered", statusCode: sent.statusCode };
		},

		/** The workflow's last word when the attempts ran out; a no-op unless the delivery is pending. */
		async markDeliveryFailed(deliveryId: string, error: string): Promise<void> {
			await failDelivery(sql, deliveryId, error.slice(0, 500));
		},
	};
}

function outcomeOf(failed: DeliveryFailed | undefined): AttemptOutcome {
	if (!failed) return "retryable";
	if (failed.options.reason === "circuit_open") return "circuit_open";
	if (failed.options.reason === "rate_limited") return "rate_limited";
	return failed.retryable ? "retryable" : "permanent";
}
