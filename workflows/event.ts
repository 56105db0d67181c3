/**
 * The event actor: one workflow per event (`event:<uuid>`). The bridge signals
 * it on every change of the event or its participants; it re-reads the
 * current row, re-plans reminders as durable timers, promotes waitlisted
 * participants when places free up, and ends when the event is cancelled or
 * deleted. Each change is applied at most once (by outbox id); the actor
 * continues-as-new before its history grows large. Every notification it
 * creates is handed to its own `deliverNotification` child workflow, which
 * outlives the actor's run (parent close policy ABANDON).
 */
import { WorkflowExecutionAlreadyStartedError } from "@temporalio/common";
import {
	allHandlersFinished,
	condition,
	continueAsNew,
	defineQuery,
	defineSignal,
	ParentClosePolicy,
	patched,
	proxyActivities,
	setHandler,
	startChild,
	workflowInfo,
} from "@temporalio/workflow";
import type { createActivities } from "../activities/index.ts";
import { databaseActivity } from "./activity-options.ts";
import { deliverNotification } from "./delivery.ts";
import { deliveryWorkflowId } from "./delivery-plan.ts";
import { type EventSnapshot, type PlannedReminder, planReminders } from "./event-plan.ts";

type Activities = ReturnType<typeof createActivities>;

const { loadEventSnapshot, sendEventReminders, promoteWaitlisted } =
	proxyActivities<Activities>(databaseActivity);

export interface Change {
	outboxId: number;
	table: string;
	operation: "INSERT" | "UPDATE" | "DELETE";
	rowId: string;
}

export interface EventActorState {
	lastOutboxId: number;
	applied: number;
	ignored: number;
	/** Keys of reminders already sent for the current start time. */
	sent: string[];
}

export interface EventActorInput {
	entityKey: string;
	state?: EventActorState;
	/** Continue-as-new past this many history events (default 4000). */
	historyLimit?: number;
}

export interface ScheduleView {
	eventId: string;
	status: "scheduled" | "cancelled" | "deleted" | "loading";
	reminders: Pick<PlannedReminder, "participantId" | "userId" | "offsetSeconds" | "fireAt">[];
}

/** The bridge sends an entity's pending changes in one signal, oldest first. */
export const eventChanged = defineSignal<[Change[]]>("eventChanged");
export const scheduleQuery = defineQuery<ScheduleView>("schedule");
export const statsQuery = defineQuery<EventActorState>("stats");

export async function eventActor(input: EventActorInput): Promise<{ ended: "cancelled" | "deleted" }> {
	const eventId = input.entityKey;
	const state: EventActorState = input.state ?? { lastOutboxId: 0, applied: 0, ignored: 0, sent: [] };
	let dirty = true;
	let participantsChanged = input.state === undefined;
	let snapshot: EventSnapshot | null | undefined;
	let plan: PlannedReminder[] = [];

	setHandler(eventChanged, (changes) => {
		for (const change of changes) {
			if (change.outboxId <= state.lastOutboxId) {
				// Already applied, or out of order: don't count it, but re-read the row anyway
				// (idempotent), so an ordering mistake costs a reload, never a missed change.
				state.ignored++;
				if (patched("stale-change-reload")) {
					dirty = true;
					if (change.table === "participants") participantsChanged = true;
				}
				continue;
			}
			state.lastOutboxId = change.outboxId;
			state.applied++;
			dirty = true;
			if (change.table === "participants") participantsChanged = true;
		}
	});
	setHandler(scheduleQuery, () => ({
		eventId,
		status: snapshot === undefined ? "loading" : snapshot === null ? "deleted" : snapshot.status,
		reminders: pending().map(({ participantId, userId, offsetSeconds, fireAt }) => ({
			participantId,
			userId,
			offsetSeconds,
			fireAt,
		})),
	}));
	setHandler(statsQuery, () => state);

	const pending = () => plan.filter((r) => !state.sent.includes(r.key));

	for (;;) {
		if (dirty) {
			dirty = false;
			snapshot = await loadEventSnapshot(eventId);
			if (!snapshot || snapshot.status === "cancelled") {
				await condition(allHandlersFinished);
				return { ended: snapshot ? "cancelled" : "deleted" };
			}
			if (participantsChanged) {
				participantsChanged = false;
				const promoted = await promoteWaitlisted(eventId);
				await startDeliveries(promoted);
				if (promoted.length > 0) {
					dirty = true; // reload: the promoted participants now get reminders
					continue;
				}
			}
			plan = planReminders(snapshot, Date.now()); // Temporal's deterministic workflow clock
			state.sent = state.sent.filter((key) => plan.some((r) => r.key === key));
		}
		const next = pending()[0];
		if (
			workflowInfo().continueAsNewSuggested ||
			workflowInfo().historyLength > (input.historyLimit ?? 4000)
		) {
			await condition(allHandlersFinished);
			await continueAsNew<typeof eventActor>({ entityKey: eventId, state, historyLimit: input.historyLimit });
		}
		if (!next) {
			await condition(() => dirty);
			continue;
		}
		const woken = await condition(() => dirty, Math.max(1, Date.parse(next.fireAt) - Date.now()));
		if (woken) continue;
		const due = pending().filter((r) => Date.parse(r.fireAt) <= Date.now());
		const notificationIds = await sendEventReminders(eventId, due);
		state.sent.push(...due.map((r) => r.key));
		await startDeliveries(notificationIds);
	}
}

/**
 * One delivery workflow per notification, by business id: starting an id
 * that is still running is ignored, and a re-run of a finished one sends
 * nothing twice (only pending deliveries are sent). Histories recorded
 * before deliveries existed replay without it (the patch marker).
 */
async function startDeliveries(notificationIds: string[]): Promise<void> {
	if (!patched("notification-delivery")) return;
	await Promise.all(
		notificationIds.map(async (notificationId) => {
			try {
				await startChild(deliverNotification, {
					workflowId: deliveryWorkflowId(notificationId),
					args: [{ notificationId }],
					parentClosePolicy: ParentClosePolicy.ABANDON,
				});
			} catch (error) {
				if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
			}
		}),
	);
}
