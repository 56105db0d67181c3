/** The bridge's metrics: signals by outcome, changes delivered, and the outbox backlog read at scrape time. */
import type { Sql } from "../infra/db/sql.ts";
import { counter, histogram, sampled } from "../infra/metrics.ts";
import { outboxStats } from "./outbox.ts";

export const bridgeSignals = counter(
	"herald_bridge_signals_total",
	"signalWithStart calls of the bridge, by outcome (ok | error)",
	["outcome"],
);
export const bridgeSignalSeconds = histogram(
	"herald_bridge_signal_duration_seconds",
	"Duration of one signalWithStart call of the bridge",
);
export const bridgeDelivered = counter(
	"herald_bridge_changes_delivered_total",
	"Outbox changes the bridge delivered and marked",
);
export const bridgeBatchFailures = counter(
	"herald_bridge_batch_failures_total",
	"Bridge batches that failed (Postgres, Temporal or the event bus unavailable)",
);

/**
 * The event bus's metrics, declared with the bridge (the dashboard and the alerts name them)
 * although bus.ts, and the NATS client, load only with NATS_URL set. `herald_bus_connected`
 * has a sample only while a bus reports its state (`sampleBusConnected`): a bridge without a
 * bus exports none, so HeraldEventBusDown (min == 0) cannot fire where there is no bus.
 */
export const busPublishes = counter(
	"herald_bus_publishes_total",
	"Changes published to JetStream, by outcome (ok | duplicate | error)",
	["outcome"],
);
const BUS_CONNECTED = "herald_bus_connected";
const BUS_CONNECTED_HELP = "1 while the bridge's NATS connection is up, else 0 (no sample without a bus)";
sampled(BUS_CONNECTED, BUS_CONNECTED_HELP, [], async () => []);

/** Reports a bus's connection state on each scrape (the last bus made wins); returns the unregister. */
export const sampleBusConnected = (connected: () => boolean): (() => void) =>
	sampled(BUS_CONNECTED, BUS_CONNECTED_HELP, [], async () => [{ value: connected() ? 1 : 0 }]);

/** Outbox backlog gauges, read from Postgres on each scrape of a bridge process. */
export function sampleOutbox(sql: Sql): () => void {
	let last: Promise<Awaited<ReturnType<typeof outboxStats>>> | undefined;
	// One query per scrape for both gauges.
	const stats = () => {
		last ??= outboxStats(sql).finally(() => setTimeout(() => (last = undefined), 0));
		return last;
	};
	const stopPending = sampled("herald_outbox_pending", "Outbox changes not yet delivered", [], async () => [
		{ value: (await stats()).pending },
	]);
	const stopLag = sampled(
		"herald_outbox_lag_seconds",
		"Age of the oldest undelivered outbox change (0 when none)",
		[],
		async () => [{ value: (await stats()).lagSeconds }],
	);
	return () => {
		stopPending();
		stopLag();
	};
}
