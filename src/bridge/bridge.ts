/**
 * The notify bridge role. For now it holds a LISTEN connection on the outbox
 * wake-up channel and reports it; outbox draining and signal delivery arrive
 * with the events issue (see DESIGN.md "Data flow").
 */

import type { Sql } from "../infra/db/sql.ts";
import type { Logger } from "../infra/log.ts";

export const OUTBOX_CHANNEL = "herald_outbox";

export interface BridgeHandle {
	stop(): Promise<void>;
}

export async function startBridge(options: { sql: Sql; log: Logger }): Promise<BridgeHandle> {
	const log = options.log.child({ role: "bridge" });
	const listener = await options.sql.listen(
		OUTBOX_CHANNEL,
		() => log.debug("outbox wake-up"),
		() => log.info("bridge listening", { channel: OUTBOX_CHANNEL }),
	);
	return { stop: () => listener.unlisten() };
}
