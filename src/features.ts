/**
 * Every feature of Herald, in the order their routes are mounted. Adding a
 * domain is its folder (exporting a `feature`), one line here, a migration
 * and a workflow export in `workflows/index.ts`.
 */
import { adminFeature } from "./admin/feature.ts";
import { authFeature } from "./auth/feature.ts";
import { channelsFeature } from "./channels/feature.ts";
import { debtsFeature } from "./debts/feature.ts";
import { deliveriesFeature } from "./deliveries/feature.ts";
import { eventsFeature } from "./events/feature.ts";
import type { Feature } from "./feature.ts";
import { fitnessFeature } from "./fitness/feature.ts";
import { maintenanceFeature } from "./maintenance/feature.ts";
import { notificationsFeature } from "./notifications/feature.ts";
import { remindersFeature } from "./reminders/feature.ts";
import { syncFeature } from "./sync/feature.ts";
import { usersFeature } from "./users/feature.ts";

export const features: readonly Feature[] = [
	authFeature,
	usersFeature,
	adminFeature,
	notificationsFeature,
	eventsFeature,
	remindersFeature,
	channelsFeature,
	deliveriesFeature,
	debtsFeature,
	fitnessFeature,
	syncFeature,
	maintenanceFeature,
];
