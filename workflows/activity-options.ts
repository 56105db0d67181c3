/**
 * Default options for activities that read and write Herald's own
 * PostgreSQL. A lost connection (a restart, a failover, a pooler recycling
 * connections) fails the attempt at once with CONNECTION_CLOSED and the pool
 * reconnects within a second, so retries start fast and stay close together:
 * the database comes back in seconds, and an actor waiting a minute per retry
 * would only add lag. Attempts are unlimited; the timeout bounds each one.
 */
import type { ActivityOptions } from "@temporalio/workflow";

export const databaseActivity: ActivityOptions = {
	startToCloseTimeout: "30 seconds",
	retry: { initialInterval: "200 milliseconds", backoffCoefficient: 2, maximumInterval: "5 seconds" },
};
