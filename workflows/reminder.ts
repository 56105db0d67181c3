/**
 * The reminder actor: one workflow per reminder (`reminder:<uuid>`). The
 * bridge signals it on every change of its row; it re-plans (an activity:
 * recurrence and time zones are not workflow code), sleeps on a durable
 * timer until the next firing, and on waking lets the same activity send
 * what is due; that activity also starts each notification's
 * `deliverNotification` workflow (by business id, so never twice). The actor ends when the reminder is
 * paused, completed, cancelled or deleted (a resume or a restore starts it
 * again through the outbox), and continues-as-new before its history grows
 * large, so a series of any length keeps a bounded history.
 */
import { allHandlersFinished, condition, defineQuery, setHandler } from "@temporalio/workflow";
import type { createReminderActivities, ReminderActorView } from "../activities/reminders/index.ts";
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

const { syncReminder } = featureActivities<ReturnType<typeof createReminderActivities>>("reminders");

/** `reminder:<uuid>`, signalled with `reminderChanged` on every change of the row. */
export const reminderActorDefinition = defineActor({
	workflowType: "reminderActor",
	idPrefix: "reminder:",
	signalName: "reminderChanged",
});

export interface ReminderActorState extends ActorCounters {
	/** Times the actor woke on its timer (carried across continue-as-new). */
	wakeups: number;
}

export type ReminderActorInput = ActorInput<ReminderActorState>;

/** What the actor is waiting for; `loading` until it has read its row once. */
export type ReminderPlanView = ReminderActorView | { status: "loading"; nextFireAt: null; nextFiring: null };

export const planQuery = defineQuery<ReminderPlanView>("plan");
export { statsQuery };

export async function reminderActor(
	input: ReminderActorInput,
): Promise<{ ended: ReminderActorView["status"] }> {
	const reminderId = input.entityKey;
	const state: ReminderActorState = input.state ?? { ...newCounters(), wakeups: 0 };
	let dirty = true;
	let view: ReminderPlanView = { status: "loading", nextFireAt: null, nextFiring: null };

	receiveChanges(reminderActorDefinition, state, () => {
		dirty = true;
	});
	setHandler(planQuery, () => view);
	setHandler(statsQuery, () => state);

	for (;;) {
		if (dirty) {
			dirty = false;
			// The workflow's clock (deterministic; skipped ahead by the time-skipping test server).
			view = (await syncReminder(reminderId, Date.now())).view;
		}
		if (view.status !== "active" && view.status !== "loading") {
			await condition(allHandlersFinished);
			if (!dirty) return { ended: view.status };
			continue; // a change arrived while it was ending: read the row again
		}
		await continueAsNewIfDue<typeof reminderActor>(input.historyLimit, {
			entityKey: reminderId,
			state,
			historyLimit: input.historyLimit,
		});
		if (view.nextFireAt === null) {
			await condition(() => dirty);
			continue;
		}
		const wait = Math.max(1, Date.parse(view.nextFireAt) - Date.now());
		if (await condition(() => dirty, wait)) continue;
		state.wakeups++;
		dirty = true; // the timer fired: the activity sends what is due now
	}
}
