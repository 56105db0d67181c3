/**
 * The notify bridge: drains the outbox in order and turns each change into a
 * `signalWithStart` to its entity's actor (deterministic workflow id, so the
 * actor is started if needed and deduplicated). It drains on start, after
 * every (re)connect of its LISTEN connection, on every wake-up NOTIFY, and on
 * a slow timer as a safety net, so no change is lost. Any number of bridges
 * can run: entities are claimed with advisory locks (see outbox.ts).
 */
import type { Client } from "@temporalio/client";
import * as workflows from "../../workflows/index.ts";
import type { ActorDefinition } from "../../workflows/kit/actor.ts";
import type { Change } from "../../workflows/kit/change.ts";
import { features } from "../features.ts";
import type { Queryable, Sql } from "../infra/db/sql.ts";
import type { Logger } from "../infra/log.ts";
import { outageLog } from "../infra/outage.ts";
import {
	claimEntities,
	invalidRoutes,
	loadRoutes,
	markDelivered,
	type OutboxRow,
	pendingChanges,
	type Route,
	type Routes,
	routeKey,
} from "./outbox.ts";

export const OUTBOX_CHANNEL = "herald_outbox";

export interface BridgeOptions {
	sql: Sql;
	temporal: Client;
	taskQueue: string;
	log: Logger;
	/** The actors routes may name (default: every feature's); a route naming another is refused. */
	actors?: readonly ActorDefinition[];
	/** Entities claimed per batch (delivered concurrently, each in order). */
	entitiesPerBatch?: number;
	rowsPerBatch?: number;
	pollIntervalMs?: number;
	/**
	 * Upper bound for one batch's signals: past it the batch gives up, commits
	 * what was delivered, releases its locks and retries later (default 5000).
	 */
	batchTimeoutMs?: number;
	/** Called after each successful signal (benchmarks measure commit-to-signal latency with it). */
	onDelivered?: (row: OutboxRow) => void;
}

export interface BridgeHandle {
	/** Drains until nothing is pending (tests, shutdown). */
	drain(): Promise<number>;
	readonly delivered: number;
	stop(): Promise<void>;
}

export async function startBridge(options: BridgeOptions): Promise<BridgeHandle> {
	const log = options.log.child({ role: "bridge" });
	const { sql } = options;
	const entities = options.entitiesPerBatch ?? 64;
	const rowsPerBatch = options.rowsPerBatch ?? 1000;
	const batchTimeoutMs = options.batchTimeoutMs ?? 5000;
	const pollIntervalMs = options.pollIntervalMs ?? 5000;
	const outage = outageLog(log, "outbox delivery");
	let retryTimer: Timer | undefined;
	let retryDelayMs = 0;
	const known = new Map((options.actors ?? featureActors()).map((a) => [a.workflowType, a]));
	const exported = new Set(Object.keys(workflows));
	let routes = await loadRoutes(sql);
	const problems = invalidRoutes(routes, known, exported);
	if (problems.length > 0) throw new Error(`outbox_routes names unknown actors: ${problems.join("; ")}`);
	/**
	 * Routes are re-read in every batch: a newer release's migration may have
	 * rewritten them while this bridge runs. A route this bridge cannot serve
	 * (an actor it does not know) leaves its entities pending for a bridge
	 * that can; it never marks them delivered.
	 */
	let unknownRoutes = new Set<Route>();
	let warned = "";
	const reloadRoutes = async (tx: Queryable) => {
		routes = await loadRoutes(tx);
		unknownRoutes = new Set(
			[...routes.values()]
				.flat()
				.filter((r) => invalidRoutes(new Map([["_", [r]]]), known, exported).length > 0),
		);
		const names = [...unknownRoutes].map((r) => r.workflowType).join(",");
		if (names && names !== warned)
			log.warn("outbox routes this bridge cannot serve; their changes wait for a newer bridge", {
				routes: names,
			});
		warned = names;
	};
	/** Entities whose delivery failed wait before they are claimed again (doubling, up to the poll interval). */
	const backoff = new Map<string, { until: number; delayMs: number }>();
	const resting = () => {
		const now = Date.now();
		for (const [key, b] of backoff) if (b.until <= now) backoff.delete(key);
		return [...backoff.keys()];
	};
	let delivered = 0;
	let stopped = false;
	let running: Promise<number> | undefined;
	let again = false;

	/**
	 * One signal per entity and route, carrying its pending changes in order:
	 * the actor applies each (by outbox id) but Temporal sees one call, so a
	 * backlog coalesces instead of queueing one RPC per row.
	 */
	const deliver = async (route: Route, changes: OutboxRow[], deadline: number) => {
		const first = changes[0]!;
		// The deadline stops the client's own retries of an unavailable Temporal.
		await options.temporal.withDeadline(deadline, () =>
			options.temporal.workflow.signalWithStart(route.workflowType, {
				workflowId: `${route.workflowIdPrefix}${first.entity_key}`,
				taskQueue: options.taskQueue,
				args: [{ entityKey: first.entity_key }],
				signal: route.signalName,
				signalArgs: [
					changes.map(
						(c): Change => ({
							outboxId: Number(c.id),
							table: c.table_name,
							operation: c.operation,
							rowId: c.row_id,
						}),
					),
				],
			}),
		);
	};

	/**
	 * One transaction: claim entities, deliver their changes in order, mark
	 * what was delivered. Returns how many were delivered and the first
	 * failure, if any (the failed entity's changes stay pending, in order).
	 */
	const batch = () =>
		sql.begin(async (tx) => {
			const keys = await claimEntities(tx, entities, resting());
			if (keys.length === 0) return { n: 0, failure: undefined };
			const rows = await pendingChanges(tx, keys, rowsPerBatch);
			// Routes read after the changes: a route committed before a change is then always seen with it.
			await reloadRoutes(tx);
			const byEntity = Map.groupBy(rows, (r) => r.entity_key);
			const deadline = Date.now() + batchTimeoutMs;
			const done: string[] = [];
			const failures: unknown[] = [];
			await Promise.all(
				[...byEntity.values()].map(async (changes) => {
					const entity = changes[0]!.entity_key;
					const groups = byActor(changes, routes);
					if (groups.some((g) => unknownRoutes.has(g.route))) return; // a newer bridge's work
					// Each actor that hears the entity gets its changes in one signal, in order; the
					// entity's changes count as delivered only when every actor got them.
					const results = await Promise.allSettled(
						groups.map(({ route, changes: mine }) => deliver(route, mine, deadline)),
					);
					const failed = results.find((r) => r.status === "rejected");
					if (failed) {
						failures.push(failed.reason); // stays pending; actors deduplicate the resend
						const delayMs = Math.min(pollIntervalMs, Math.max(250, (backoff.get(entity)?.delayMs ?? 0) * 2));
						backoff.set(entity, { until: Date.now() + delayMs, delayMs });
						return;
					}
					backoff.delete(entity);
					for (const change of changes) {
						done.push(change.id);
						options.onDelivered?.(change);
					}
				}),
			);
			await markDelivered(tx, done);
			return { n: done.length, failure: failures[0] };
		});

	/**
	 * Batches until nothing more can be delivered now. A failing entity rests
	 * (its own backoff) while the others go on; the drain fails, for the
	 * outage log and a retry soon, only when a batch delivered nothing.
	 */
	const drainOnce = async (): Promise<number> => {
		let total = 0;
		do {
			again = false;
			for (;;) {
				if (stopped) return total;
				const { n, failure } = await batch();
				total += n;
				delivered += n;
				if (failure !== undefined && n === 0) throw failure;
				if (n === 0) break;
			}
		} while (again);
		if (backoff.size > 0) retryLater(); // the resting entities get their turn without a NOTIFY
		return total;
	};

	/** After a failure: try again soon (doubling up to the poll interval), not only on the next NOTIFY. */
	const retryLater = () => {
		retryDelayMs = Math.min(pollIntervalMs, Math.max(250, retryDelayMs * 2));
		clearTimeout(retryTimer);
		retryTimer = setTimeout(() => void drain(), retryDelayMs);
	};

	const drain = (): Promise<number> => {
		if (running) {
			again = true;
			return running;
		}
		running = drainOnce()
			.then(
				(n) => {
					outage.ok();
					retryDelayMs = 0;
					return n;
				},
				(error) => {
					// Temporal or Postgres unreachable: locks are released (the transaction ended).
					outage.failed(error);
					if (!stopped) retryLater();
					return 0;
				},
			)
			.finally(() => {
				running = undefined;
			});
		return running;
	};

	const listener = await sql.listen(
		OUTBOX_CHANNEL,
		() => void drain(),
		() => {
			log.info("bridge listening", { channel: OUTBOX_CHANNEL });
			void drain(); // on start and after every reconnect
		},
	);
	const timer = setInterval(() => void drain(), pollIntervalMs);

	return {
		drain,
		get delivered() {
			return delivered;
		},
		async stop() {
			stopped = true;
			clearInterval(timer);
			clearTimeout(retryTimer);
			await running;
			await listener.unlisten();
		},
	};
}

const featureActors = () => features.flatMap((f) => (f.actors ?? []).map((b) => b.actor));

/** Per route (actor and signal), the entity's changes that route hears, order kept. */
function byActor(changes: OutboxRow[], routes: Routes): { route: Route; changes: OutboxRow[] }[] {
	const groups = new Map<string, { route: Route; changes: OutboxRow[] }>();
	for (const c of changes)
		for (const route of routes.get(routeKey(c.table_name, c.operation)) ?? []) {
			const id = `${route.workflowType} ${route.workflowIdPrefix} ${route.signalName}`;
			const group = groups.get(id) ?? { route, changes: [] };
			group.changes.push(c);
			groups.set(id, group);
		}
	return [...groups.values()];
}
