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
	defineQuery,
	ParentClosePolicy,
	patched,
	setHandler,
	startChild,
} from "@temporalio/workflow";
import type { createEventActivities } from "../activities/events/index.ts";
import { deliverNotification } from "./delivery.ts";
import { deliveryWorkflowId } from "./delivery-plan.ts";
import { type EventSnapshot, type PlannedReminder, planReminders } from "./event-plan.ts";
import { featureActivities } from "./kit/activities.ts";
import {
	type ActorCounters,
	type ActorInput,
	continueAsNewIfDue,
	defineActor,
	newCounters,
	receiveChanges,
	statsQuery,
} from "./kit/actor.ts";

const { loadEventSnapshot, sendEventReminders, promoteWaitlisted, notifyEventCancelled } =
	featureActivities<ReturnType<typeof createEventActivities>>("events");

/** `event:<uuid>`, signalled with `eventChanged` on every change of the event or its participants. */
export const eventActorDefinition = defineActor({
	workflowType: "eventActor",
	idPrefix: "event:",
	signalName: "eventChanged",
});
export const eventChanged = eventActorDefinition.signal;

export interface EventActorState extends ActorCounters {
	/** Keys of reminders already sent for the current start time. */
	sent: string[];
}

export type EventActorInput = ActorInput<EventActorState>;

export interface ScheduleView {
	eventId: string;
	status: "scheduled" | "cancelled" | "deleted" | "loading";
	reminders: Pick<PlannedReminder, "participantId" | "userId" | "offsetSeconds" | "fireAt">[];
}

export const scheduleQuery = defineQuery<ScheduleView>("schedule");
export { statsQuery };

export async function eventActor(
	input: EventActorInput,
): Promise<{ ended: "cancelled" | "deleted" | "finished" }> {
	const eventId = input.entityKey;
	const state: EventActorState = input.state ?? { ...newCounters(), sent: [] };
	let dirty = true;
	// A continued run promotes on its first load too: a participant change that arrived while the
	// previous run was continuing must not wait for the next one (older runs replay without it).
	let participantsChanged = input.state === undefined || patched("promote-after-continue");
	// The actor ends once its event is over (runs from before this replay without it).
	const endsWhenOver = patched("end-after-event");
	let snapshot: EventSnapshot | null | undefined;
	let plan: PlannedReminder[] = [];

	// Every change, fresh or stale, means: re-read the row.
	receiveChanges(eventActorDefinition, state, (change) => {
		dirty = true;
		if (change.table === "participants") participantsChanged = true;
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
				// Its participants hear of the cancellation (histories from before this replay without it).
				if (snapshot && patched("cancel-notifies"))
					await startDeliveries(await notifyEventCancelled(eventId));
				await condition(allHandlersFinished);
				return { ended: snapshot ? "cancelled" : "deleted" };
			}
			if (endsWhenOver && snapshot.endsAt && Date.parse(snapshot.endsAt) <= Date.now()) {
				await condition(allHandlersFinished);
				return { ended: "finished" };
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
		await continueAsNewIfDue<typeof eventActor>(input.historyLimit, {
			entityKey: eventId,
			state,
			historyLimit: input.historyLimit,
		});
		if (!next) {
			// Nothing planned: wait for a change, or (newer runs) for the event to be over.
			const over = endsWhenOver && snapshot?.endsAt ? Date.parse(snapshot.endsAt) - Date.now() : undefined;
			if (over === undefined) await condition(() => dirty);
			else if (!(await condition(() => dirty, Math.max(1, over)))) dirty = true; // reload, then end
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
