/** Every workflow the worker registers. */
export { dailyCleanup } from "./cleanup.ts";
