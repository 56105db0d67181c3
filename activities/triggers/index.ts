/**
 * Action-run activities: start the run of a fire, make one attempt of its
 * action through the outbound transport (the senders with their SSRF guard,
 * HMAC signature and idempotency key, the shared circuit breaker and rate
 * limits), recording every attempt, and settle the run.
 */
import { ApplicationFailure, Context } from "@temporalio/activity";
import { Option } from "effect";
import { secret } from "../../src/config-kit.ts";
import { deliveryPolicies } from "../../src/deliveries/policy.ts";
import { describeDestination, redactError } from "../../src/deliveries/request.ts";
import type { Sql } from "../../src/infra/db/sql.ts";
import { inSpan, SpanKind } from "../../src/infra/tracing.ts";
import {
	type ChannelTarget,
	DeliveryFailed,
	destinationKey,
	type SendOutcome,
} from "../../src/outbound/types.ts";
import type { Action } from "../../src/triggers/definition.ts";
import { callMcpTool } from "../../src/triggers/mcp.ts";
import { actionRuns } from "../../src/triggers/metrics.ts";
import {
	beginActionAttempt,
	beginRun,
	finishActionAttempt,
	finishRun,
	loadFire,
} from "../../src/triggers/runs-repository.ts";
import type { KindPolicy } from "../../workflows/delivery-plan.ts";
import type { DeliveryDeps, DeliverySettings } from "../deliveries/index.ts";

export interface RunPlan {
	fireKey: string;
	/** Runs of fires due on the same second start spread over it, by the fire's key. */
	spreadMs: number;
	policy: KindPolicy;
}

/** A deterministic spread in [0, 1000) ms from the fire key (FNV-1a). */
export function spreadOf(fireKey: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < fireKey.length; i++) h = Math.imul(h ^ fireKey.charCodeAt(i), 0x01000193) >>> 0;
	return h % 1000;
}

function targetOf(action: Action): ChannelTarget {
	switch (action.kind) {
		case "webhook":
			return {
				kind: "webhook",
				url: action.url,
				headers: {},
				secret: (action as { secret?: string }).secret ?? "",
			};
		case "email":
			return { kind: "email", address: action.to };
		case "telegram":
			return { kind: "telegram", chatId: action.chatId };
		case "mcp":
			// The breaker's key and the attempt's destination: the MCP server's origin. Its bearer
			// token rides as the target's secret so that a recorded error never quotes it.
			return { kind: "webhook", url: action.url, headers: {}, secret: action.token ?? "" };
	}
}

export function createTriggerActionActivities(deps: {
	sql: Sql;
	settings: DeliverySettings;
	delivery?: DeliveryDeps;
}) {
	const { sql, settings } = deps;
	const secrets = () =>
		[settings.telegramBotToken, settings.smtpPassword].flatMap((o) =>
			Option.isSome(o) ? [secret(o.value)] : [],
		);
	return {
		/** The run's plan; null when the fire is gone or its run already finished. */
		async startRun(fireKey: string): Promise<RunPlan | null> {
			const fire = await loadFire(sql, fireKey);
			if (!fire || (fire.status !== null && fire.status !== "running")) return null;
			await beginRun(sql, fire.fire_id, fire.trigger_id);
			const kind = fire.action.kind === "mcp" ? "webhook" : fire.action.kind;
			return { fireKey, spreadMs: spreadOf(fireKey), policy: deliveryPolicies(settings)[kind] };
		},

		/**
		 * One attempt; `DeliveryRejected` (non-retryable) or `DeliveryRetryable` (with nextRetryDelay)
		 * on failure. The first attempt first waits the run's spread (`spreadMs`, < 1 s), so that
		 * fires due together do not leave together (runs recorded before the spread moved here
		 * waited it on a workflow timer and pass none).
		 */
		async attemptAction(
			fireKey: string,
			options: { spreadMs?: number } = {},
		): Promise<{ statusCode?: number }> {
			const ctx = Context.current();
			if (ctx.info.attempt === 1 && (options.spreadMs ?? 0) > 0) await ctx.sleep(options.spreadMs!);
			const fire = await loadFire(sql, fireKey);
			if (!fire) throw ApplicationFailure.nonRetryable("the fire is gone", "DeliveryRejected");
			if (!deps.delivery)
				throw ApplicationFailure.nonRetryable(
					"delivery is not configured on this worker",
					"DeliveryNotConfigured",
				);
			const { senders, guard } = deps.delivery;
			const target = targetOf(fire.action);
			const attempt = ctx.info.attempt;
			const payload = fire.payload;
			const text = typeof payload === "string" ? payload : "";
			const mail = (payload ?? {}) as { subject?: string; text?: string };
			const request = {
				deliveryId: fire.fire_id,
				attempt,
				idempotencyKey: fire.fire_key,
				target,
				message: {
					notificationId: fire.fire_id,
					userId: fire.owner_id,
					kind: "trigger.fire",
					title: target.kind === "email" ? (mail.subject ?? fire.trigger_name) : "",
					body: target.kind === "email" ? (mail.text ?? "") : text,
					data: {},
					createdAt: fire.fired_at.toISOString(),
				},
				body: target.kind === "webhook" ? payload : undefined,
			};
			const attemptId = await beginActionAttempt(sql, fire.fire_id, attempt, describeDestination(target));
			const started = performance.now();
			let sent: SendOutcome;
			try {
				const action = fire.action;
				const send =
					action.kind === "mcp"
						? async () => {
								await callMcpTool({ url: action.url, token: action.token }, action.tool, payload, {
									allowPrivate: settings.webhookAllowPrivate,
									timeoutMs: settings.webhookTimeoutMs,
								});
								return {};
							}
						: () =>
								// A client span (a webhook's `traceparent` names it); the MCP client makes its own.
								inSpan(
									`send ${target.kind}`,
									{
										kind: SpanKind.CLIENT,
										attributes: { "herald.channel_kind": target.kind, "herald.attempt": attempt },
									},
									() => senders[target.kind](request),
								);
				const destination =
					action.kind === "mcp"
						? `mcp:${new URL(action.url).host.toLowerCase()}`
						: destinationKey(target, settings);
				const throttle = fire.clauses.rateLimit;
				const rateLimits = [
					...guard.limitsFor(target),
					...(throttle
						? [
								{
									key: `trigger:${fire.trigger_id}`,
									limit: throttle.limit,
									windowMs: throttle.windowSeconds * 1000,
								},
							]
						: []),
				];
				sent = await guard.run(destination, send, { rateLimits });
			} catch (error) {
				const failed = error instanceof DeliveryFailed ? error : undefined;
				const message = redactError(
					error instanceof Error ? error.message : String(error),
					target,
					secrets(),
				);
				const outcome = !failed
					? "retryable"
					: failed.options.reason === "circuit_open"
						? "circuit_open"
						: failed.options.reason === "rate_limited"
							? "rate_limited"
							: failed.retryable
								? "retryable"
								: "permanent";
				await finishActionAttempt(sql, attemptId, {
					outcome,
					statusCode: failed?.options.statusCode,
					latencyMs: performance.now() - started,
					error: message,
				});
				const terminal = failed !== undefined && !failed.retryable;
				actionRuns.inc({ kind: fire.action.kind, outcome: terminal ? "terminal" : "retry" });
				if (terminal) throw ApplicationFailure.nonRetryable(message, "DeliveryRejected");
				throw ApplicationFailure.create({
					message,
					type: "DeliveryRetryable",
					nextRetryDelay: failed?.options.retryAfterMs,
				});
			}
			actionRuns.inc({ kind: fire.action.kind, outcome: "success" });
			await finishActionAttempt(sql, attemptId, {
				outcome: "ok",
				statusCode: sent.statusCode,
				latencyMs: performance.now() - started,
			});
			return { statusCode: sent.statusCode };
		},

		async settleRun(fireKey: string, status: "succeeded" | "failed", error: string | null): Promise<void> {
			const fire = await loadFire(sql, fireKey);
			if (fire) await finishRun(sql, fire.fire_id, status, error?.slice(0, 500) ?? null);
		},
	};
}
