/**
 * One workflow bundle per test process instead of one per worker. Every
 * `Worker.create` with a `workflowsPath` runs webpack over workflows/ (about
 * 2–5 s of CPU on our machines), and the suite creates dozens of workers in
 * one process, all from the same sources with the same bundler options. The
 * first worker for a given set of options bundles as before; later ones get
 * the same code. Each worker still runs its workflows in sandboxes of its own,
 * built from that code, exactly as with a fresh bundle. Options the key cannot
 * compare (a webpack hook, plugins) bundle every time, as the SDK does.
 *
 * The hook is the SDK's own static `Worker.getOrCreateBundle` (what `create`
 * and `runReplayHistories` call); test/workflow-bundle-cache.test.ts fails if
 * it is gone, so an SDK upgrade cannot quietly turn the cache off.
 */
import { Worker } from "@temporalio/worker";

type GetOrCreateBundle = (compiledOptions: any, logger: unknown) => Promise<unknown>;
const SDK = Worker as unknown as { getOrCreateBundle: GetOrCreateBundle & { cached?: true } };
const KEY = Symbol.for("herald.test-workflow-bundles");

export const bundleCache = {
	installed: false,
	bundled: 0,
	reused: 0,
};

export function installWorkflowBundleCache(): void {
	const original = SDK.getOrCreateBundle;
	if (typeof original !== "function") throw new Error("@temporalio/worker has no Worker.getOrCreateBundle");
	if (original.cached) return;
	const holder = globalThis as { [KEY]?: Map<string, Promise<unknown>> };
	holder[KEY] ??= new Map();
	const bundles = holder[KEY];
	const cached: GetOrCreateBundle & { cached?: true } = function (this: unknown, options, logger) {
		const bundler = options?.bundlerOptions ?? {};
		if (
			!options?.workflowsPath ||
			options.workflowBundle ||
			bundler.webpackConfigHook ||
			options.plugins?.length
		)
			return original.call(this, options, logger);
		const key = JSON.stringify([
			options.workflowsPath,
			options.interceptors?.workflowModules ?? [],
			options.dataConverter?.failureConverterPath ?? null,
			options.dataConverter?.payloadConverterPath ?? null,
			bundler.ignoreModules ?? [],
			bundler.preloadModules ?? [],
		]);
		let bundle = bundles.get(key);
		if (bundle) bundleCache.reused++;
		else {
			bundleCache.bundled++;
			bundle = original.call(this, options, logger);
			bundles.set(key, bundle);
			bundle.catch(() => bundles.delete(key)); // a failed bundle is retried by the next worker
		}
		return bundle;
	};
	cached.cached = true;
	SDK.getOrCreateBundle = cached;
	bundleCache.installed = true;
}
