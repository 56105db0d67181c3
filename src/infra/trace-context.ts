/**
 * OpenTelemetry's context on Bun: an AsyncLocalStorage context manager that,
 * unlike `@opentelemetry/context-async-hooks`, can also *enter* a context for
 * the rest of the current async flow (`enter`): Elysia's hooks cannot wrap the
 * handler in `context.with`, so the HTTP hook enters the request's context and
 * everything the request awaits afterwards runs in it. test/tracing-context.test.ts
 * pins that the context survives `await`, `.then`, timers, postgres.js and
 * auto-pipelined @upstash/redis calls on this Bun.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { type Context, type ContextManager, ROOT_CONTEXT } from "@opentelemetry/api";

export class BunContextManager implements ContextManager {
	private readonly storage = new AsyncLocalStorage<Context>();

	active(): Context {
		return this.storage.getStore() ?? ROOT_CONTEXT;
	}

	with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
		context: Context,
		fn: F,
		thisArg?: ThisParameterType<F>,
		...args: A
	): ReturnType<F> {
		return this.storage.run(context, () => fn.apply(thisArg, args));
	}

	bind<T>(context: Context, target: T): T {
		if (typeof target !== "function") return target;
		const manager = this;
		const bound = function (this: unknown, ...args: unknown[]) {
			return manager.with(context, () => (target as (...a: unknown[]) => unknown).apply(this, args));
		};
		return bound as T;
	}

	/** The rest of the current async flow runs in `context` (AsyncLocalStorage.enterWith). */
	enter(context: Context): void {
		this.storage.enterWith(context);
	}

	enable(): this {
		return this;
	}

	disable(): this {
		this.storage.disable();
		return this;
	}
}
