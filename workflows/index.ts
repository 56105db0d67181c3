/** Every workflow the worker registers. */
export { dailyCleanup } from "./cleanup.ts";
export { deliverNotification } from "./delivery.ts";
export { eventActor } from "./event.ts";
