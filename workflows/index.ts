/** Every workflow the worker registers. */
export { dailyCleanup } from "./cleanup.ts";
export { eventActor } from "./event.ts";
