/** Every workflow the worker registers (and every actor the bridge may route to). */
export { dailyCleanup } from "./cleanup.ts";
export { competitionActor, prizeDistribution } from "./competition.ts";
export { deliverNotification } from "./delivery.ts";
export { eventActor } from "./event.ts";
export { reconcile } from "./reconcile.ts";
export { reminderActor } from "./reminder.ts";
