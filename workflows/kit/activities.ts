/**
 * Activity options in one place, and the proxy every workflow uses to reach
 * its own feature's activities. Activities are registered under
 * `<feature>.<name>` (src/app/worker.ts), so two features cannot collide and a
 * workflow sees only the activities of the feature it names.
 */
import {
	type ActivityOptions,
	type LocalActivityOptions,
	patched,
	proxyActivities,
	proxyLocalActivities,
} from "@temporalio/workflow";

/**
 * Activities that read and write Herald's own PostgreSQL. A lost connection
 * (a restart, a failover, a pooler recycling connections) fails the attempt
 * at once and the pool reconnects within a second, so retries start fast and
 * stay close together: an actor waiting a minute per retry would only add
 * lag. Attempts are unlimited; the timeout bounds each one.
 */
export const databaseActivity: ActivityOptions = {
	startToCloseTimeout: "30 seconds",
	retry: { initialInterval: "200 milliseconds", backoffCoefficient: 2, maximumInterval: "5 seconds" },
};

type AnyActivities = Record<string, (...args: any[]) => Promise<any>>;

/**
 * The activities of `feature`, typed as its factory's return type
 * (`ReturnType<typeof create…Activities>`). Histories recorded before
 * activities were namespaced scheduled them by their bare names: while such a
 * history replays, the bare name is used (the `patched` marker), so a running
 * workflow survives the upgrade; the worker registers the bare names too.
 */
export function featureActivities<A extends AnyActivities>(
	feature: string,
	options: ActivityOptions = databaseActivity,
): A {
	const proxy = proxyActivities<AnyActivities>(options);
	return new Proxy({} as A, {
		// Resolved at call time: modules destructure their activities at load, outside any workflow.
		get: (_, name) =>
			typeof name === "string"
				? (...args: unknown[]) =>
						proxy[patched(NAMESPACED_ACTIVITIES) ? activityName(feature, name) : name]!(...args)
				: undefined,
	});
}

/**
 * Short database steps run as local activities: in the workflow task that
 * needs them, on the worker that runs it, with no activity task for the
 * server to schedule, match and record (a marker in the history instead).
 * Same retries as `databaseActivity`; past `localRetryThreshold` a retry
 * waits on a durable timer. Only for work that is idempotent: a local
 * activity whose workflow task fails runs again.
 */
export const databaseLocalActivity: LocalActivityOptions = {
	startToCloseTimeout: "30 seconds",
	retry: databaseActivity.retry,
	localRetryThreshold: "10 seconds",
};

/** `featureActivities` as local activities (registered names are the same: `<feature>.<name>`). */
export function featureLocalActivities<A extends AnyActivities>(
	feature: string,
	options: LocalActivityOptions = databaseLocalActivity,
): A {
	const proxy = proxyLocalActivities<AnyActivities>(options);
	return new Proxy({} as A, {
		get: (_, name) =>
			typeof name === "string"
				? (...args: unknown[]) => proxy[activityName(feature, name)]!(...args)
				: undefined,
	});
}

/** The patch id that switched workflows to `<feature>.<name>` activity types. */
export const NAMESPACED_ACTIVITIES = "namespaced-activities";

/** The registered name of a feature's activity (the worker's side of `featureActivities`). */
export const activityName = (feature: string, name: string): string => `${feature}.${name}`;
