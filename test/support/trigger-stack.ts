/**
 * The real parts an action run goes through, for the trigger tests: the test
 * app, the delivery kit, actors (Temporal worker) and a bridge, a processor
 * polling every 100 ms, and a registered user. `stop` ends them in reverse.
 */
import type { BridgeHandle } from "../../src/bridge/bridge.ts";
import { createLogger } from "../../src/infra/log.ts";
import { type Processor, startProcessor } from "../../src/triggers/processor.ts";
import { DEFAULT_TRIGGER_SETTINGS } from "../../src/triggers/settings.ts";
import { type Actors, startActors } from "./actors.ts";
import { startTestApp, type TestApp } from "./app.ts";
import { type DeliveryKit, deliveryKit, FAST_DELIVERY } from "./delivery.ts";
import { type Registered, register } from "./tokens.ts";

export interface TriggerStack {
	t: TestApp;
	kit: DeliveryKit;
	actors: Actors;
	bridge: BridgeHandle;
	processor: Processor;
	alice: Registered;
	stop(): Promise<void>;
}

/** `name` names the actors' task queue; `env` overrides the app's and the delivery kit's config. */
export async function startTriggerStack(
	name: string,
	env: Record<string, string> = {},
): Promise<TriggerStack> {
	const config = { ...FAST_DELIVERY, ...env };
	const t = await startTestApp(config);
	const kit = await deliveryKit(Object.keys(env).length > 0 ? config : undefined);
	const actors = await startActors(t.db.sql, name, { delivery: kit.deps });
	const bridge = await actors.bridge(t.db.sql, 200);
	const processor = await startProcessor({
		sql: t.db.sql,
		log: createLogger("warn"),
		settings: { ...DEFAULT_TRIGGER_SETTINGS, processorPollMs: 100 },
	});
	const alice = await register(t);
	return {
		t,
		kit,
		actors,
		bridge,
		processor,
		alice,
		async stop() {
			await processor.stop();
			await bridge.stop();
			await actors.stop();
			await kit.close();
			await t.stop();
		},
	};
}
