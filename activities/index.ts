/**
 * All activities, built from their dependencies. Workflows type their proxies
 * as `ReturnType<typeof createActivities>`; tests pass their own deps.
 */
import type { Sql } from "../src/infra/db/sql.ts";
import { createCleanupActivities } from "./cleanup/index.ts";
import type { CleanupSettings } from "./cleanup/tasks.ts";
import { createDeliveryActivities, type DeliveryDeps } from "./delivery/index.ts";
import { createEventActivities } from "./events/index.ts";

export interface ActivityDeps {
	sql: Sql;
	cleanup?: CleanupSettings;
	/** Senders, guard and settings; without them deliveries are planned but `deliver` fails (non-retryable). */
	delivery?: DeliveryDeps;
}

export function createActivities(deps: ActivityDeps) {
	return {
		...createCleanupActivities(deps),
		...createEventActivities(deps),
		...createDeliveryActivities(deps),
	};
}
