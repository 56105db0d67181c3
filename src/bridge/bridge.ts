/**
 * The notify bridge: drains the outbox in order and turns each change into a
 * `signalWithStart` to its entity's actor (deterministic workflow id, so the
 * actor is started if needed and deduplicated). It drains on start, after
 * every (re)connect of its LISTEN connection, on every wake-up NOTIFY, and on
 * a slow timer as a safety net, so no change is lost. Any number of bridges
 * can run: entities are claimed with advisory locks (see outbox.ts).
 *
 * Batches overlap and hold no transaction open: a dispatcher claims entities
 * (one claim at a time) with session-level advisory locks on the bridge's own
 * lock connection, and each claimed batch delivers, marks (autocommit) and
 * releases its entities while the dispatcher already claims the next one, up
 * to `concurrency` batches in flight. Entities in flight here are not claimed
 * again until their marks committed and their locks were released, so each
 * entity has at most one signal in flight and its changes go out in order.
 * If the lock connection fails, its locks are gone with it (or given up with
 * `pg_advisory_unlock_all`); batches still in flight then finish unlocked:
 * another bridge may send the same changes again, which actors skip.
 */
import { type Link, ROOT_CONTEXT } from "@opentelemetry/api";
import type { Client } from "@temporalio/client";
import * as workflows from "../../workflows/index.ts";
import type { ActorDefinition } from "../../workflows/kit/actor.ts";
import type { Change } from "../../workflows/kit/change.ts";
import { features } from "../features.ts";
import { createSessionConnection, type Queryable, type Sql } from "../infra/db/sql.ts";
import type { Logger } from "../infra/log.ts";
import { outageLog } from "../infra/outage.ts";
import { contextOf, inSpan, SpanKind, trace } from "../infra/tracing.ts";
import type { EventBus } from "./bus.ts";
import {
	bridgeBatchFailures,
	bridgeDelivered,
	bridgeSignalSeconds,
	bridgeSignals,
	sampleOutbox,
} from "./metrics.ts";
import {
	claimEntities,
	databaseIdentity,
	invalidRoutes,
	loadRoutes,
	markDelivered,
	type OutboxRow,
	pendingChanges,
	type Route,
	type Routes,
	releaseEntities,
	releaseStrayClaims,
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
	/** Batches in flight at once, over disjoint entities (default 8). */
	concurrency?: number;
	/** `signalWithStart` calls in flight at once, over all batches (default 64). */
	maxSignals?: number;
	rowsPerBatch?: number;
	pollIntervalMs?: number;
	/**
	 * Upper bound for one batch's signals: past it the batch gives up, commits
	 * what was delivered, releases its locks and retries later (default 5000).
	 */
	batchTimeoutMs?: number;
	/**
	 * The event bus (NATS_URL): each entity's changes are also published there, in order, after
	 * its signals succeeded, and marked delivered only once both Temporal and JetStream have them.
	 */
	bus?: EventBus;
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
	const concurrency = options.concurrency ?? 8;
	const signals = semaphore(options.maxSignals ?? 64);
	const rowsPerBatch = options.rowsPerBatch ?? 1000;
	const batchTimeoutMs = options.batchTimeoutMs ?? 5000;
	const pollIntervalMs = options.pollIntervalMs ?? 5000;
	const outage = outageLog(log, "outbox delivery");
	let retryTimer: Timer | undefined;
	let retryDelayMs = 0;
	const known = new Map((options.actors ?? featureActors()).map((a) => [a.workflowType, a]));
	const exported = new Set(Object.keys(workflows));
	let routes = await loadRoutes(sql);
	/** This database's identity: the bus's message ids are `<source>:<outbox id>`. */
	const source = options.bus ? await databaseIdentity(sql) : "";
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
	/** Entities in a batch of this bridge that has not committed yet. */
	const inFlight = new Set<string>();
	const batches = new Set<Promise<unknown>>();
	let dispatching: Promise<void> | undefined;
	let wanted = false;
	let idle: Array<() => void> = [];

	/**
	 * One signal per entity and route, carrying its pending changes in order:
	 * the actor applies each (by outbox id) but Temporal sees one call, so a
	 * backlog coalesces instead of queueing one RPC per row.
	 */
	const deliver = async (route: Route, changes: OutboxRow[], deadline: number) => {
		const first = changes[0]!;
		await signals.acquire();
		const started = performance.now();
		// With tracing on: one span per signal, child of the first change's request and linked to
		// every change it carries; the Temporal client interceptor hands it on to the actor.
		await inSpan(
			`bridge signal ${route.workflowType}`,
			{
				kind: SpanKind.PRODUCER,
				parent: contextOf(changes.find((c) => c.traceparent)?.traceparent) ?? ROOT_CONTEXT,
				links: linksOf(changes),
				attributes: { "herald.workflow_type": route.workflowType, "herald.changes": changes.length },
			},
			() =>
				options.temporal
					.withDeadline(deadline, () =>
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
					)
					.then(
						() => bridgeSignals.inc({ outcome: "ok" }),
						(error: unknown) => {
							bridgeSignals.inc({ outcome: "error" });
							throw error;
						},
					)
					.finally(() => {
						bridgeSignalSeconds.observe((performance.now() - started) / 1000);
						signals.release();
					}),
		);
	};

	/**
	 * The session whose advisory locks are this bridge's claims: a connection
	 * of its own (a closed session's locks are gone with it). A batch claims,
	 * marks and releases on the connection it started with; unlocking what a
	 * session does not hold is a no-op, and no two batches hold the same entity.
	 * Keepalives on both ends: a half-open connection is noticed in about 25 s
	 * by the server (which then drops its locks) and by postgres.js.
	 */
	const openLocks = () =>
		createSessionConnection(sql, {
			keepAliveSeconds: 10,
			parameters: { tcp_keepalives_idle: "10", tcp_keepalives_interval: "5", tcp_keepalives_count: "3" },
		});
	let locks = openLocks();
	/**
	 * A lock connection that stopped answering, or failed, is replaced: closing it ends its
	 * session, and with it its locks (batches still in flight on it finish unlocked).
	 * postgres.js can leave a connection killed while queries were queued on it with queries
	 * that never settle; without this the bridge would wait on it forever.
	 */
	const replaceLocks = (broken: Sql) => {
		if (locks !== broken || stopped) return;
		locks = openLocks();
		void broken.end({ timeout: 0 }).catch(() => {});
		log.debug("bridge lock connection replaced");
	};
	const LOCK_QUERY_MS = Math.min(batchTimeoutMs, 3000);
	/** Every statement on the lock connection is bounded; past the bound the batch fails like any other. */
	const bounded = <T>(query: Promise<T>): Promise<T> => {
		let timer: Timer | undefined;
		return Promise.race([
			query,
			new Promise<never>((_, reject) => {
				timer = setTimeout(
					() =>
						reject(new LockConnectionStuck(`bridge lock connection: no answer within ${LOCK_QUERY_MS} ms`)),
					LOCK_QUERY_MS,
				);
			}),
		]).finally(() => clearTimeout(timer));
	};
	/**
	 * Changes JetStream acknowledged whose mark has not committed yet (Postgres failed in between):
	 * the retry marks them without publishing them again, however long Postgres was away. Ids of
	 * an entity another bridge took over meanwhile are never seen again; the oldest go past a bound.
	 */
	const published = new Set<string>();
	const forgetOldPublished = () => {
		for (const id of published) {
			if (published.size <= 100_000) break;
			published.delete(id);
		}
	};
	/**
	 * Counts foreign wake-ups (a NOTIFY of a writer or of another bridge, a LISTEN reconnect):
	 * a batch that saw one while it held entities tells every bridge when it ends, since the
	 * change may be waiting on them. This bridge's own wake-ups (a batch ending, the dispatcher,
	 * a retry, the poll, its own NOTIFY, known by its payload) do not count.
	 */
	let wakes = 0;
	const self = `bridge:${crypto.randomUUID()}`;

	/**
	 * One batch: claim entities (reported through `claimed` as soon as the
	 * claim returns, so the dispatcher can claim the next batch), read their
	 * changes, deliver each entity's changes in order, mark what was delivered,
	 * release the entities. The failed entities' changes stay pending, in order.
	 */
	const batch = async (claimed: (keys: string[]) => void) => {
		const conn = locks;
		let keys: string[] = [];
		let claiming = true;
		try {
			keys = await bounded(claimEntities(conn, entities, [...inFlight, ...resting()]));
			claiming = false;
			for (const key of keys) inFlight.add(key);
			claimed(keys);
			if (keys.length === 0) return { n: 0, failure: undefined };
			const [rows] = await bounded(
				Promise.all([
					pendingChanges(conn, keys, rowsPerBatch),
					// Routes read after the changes (one connection runs them in order): a route
					// committed before a change is then always seen with it.
					reloadRoutes(conn),
				]),
			);
			const byEntity = Map.groupBy(rows, (r) => r.entity_key);
			const deadline = Date.now() + batchTimeoutMs;
			const done: string[] = [];
			const failures: unknown[] = [];
			await Promise.all(
				[...byEntity.values()].map(async (changes) => {
					const entity = changes[0]!.entity_key;
					const groups = byActor(changes, routes);
					if (groups.some((g) => unknownRoutes.has(g.route))) {
						// A newer bridge's work: rest it here so it does not come back with every claim.
						backoff.set(entity, { until: Date.now() + pollIntervalMs, delayMs: pollIntervalMs });
						return;
					}
					// Each actor that hears the entity gets its changes in one signal, in order; then (only
					// once every signal succeeded) the bus gets every change of the entity, in order. A
					// change counts as delivered once the actors and JetStream have it: the changes
					// JetStream acknowledged are marked even if a later one failed, so none of them is
					// ever published again by this bridge (see `published`).
					const results = await Promise.allSettled(
						groups.map(({ route, changes: mine }) => deliver(route, mine, deadline)),
					);
					let failure = results.find((r) => r.status === "rejected")?.reason as unknown;
					let ready = failure === undefined ? changes : [];
					if (failure === undefined && options.bus) {
						await options.bus
							.publish(
								changes.filter((c) => !published.has(c.id)),
								{ source, deadline, onPublished: (c) => published.add(c.id) },
							)
							.catch((error: unknown) => {
								failure = error;
							});
						ready = changes.filter((c) => published.has(c.id)); // a prefix: published in order
					}
					if (failure !== undefined) {
						failures.push(failure); // stays pending; actors deduplicate the resend
						const delayMs = Math.min(pollIntervalMs, Math.max(250, (backoff.get(entity)?.delayMs ?? 0) * 2));
						backoff.set(entity, { until: Date.now() + delayMs, delayMs });
					} else backoff.delete(entity);
					for (const change of ready) {
						done.push(change.id);
						options.onDelivered?.(change);
					}
				}),
			);
			// One connection, in order: the marks commit before the entities are released.
			await bounded(Promise.all([markDelivered(conn, done), releaseEntities(conn, keys)]));
			for (const id of done) published.delete(id);
			delivered += done.length;
			bridgeDelivered.inc(done.length);
			forgetOldPublished();
			return { n: done.length, failure: failures[0] };
		} catch (error) {
			// What this batch holds (or a claim that failed part-way took) is unknown now: release
			// every claim of the session but those of the other batches in flight. A closed
			// session's locks are gone already.
			if (lostConnection(error)) replaceLocks(conn);
			else if (keys.length > 0 || claiming) {
				const mine = new Set(keys);
				await bounded(
					releaseStrayClaims(
						conn,
						[...inFlight].filter((k) => !mine.has(k)),
					),
				).catch(() => replaceLocks(conn));
			}
			throw error;
		}
	};

	/** Starts one batch; resolves with how many entities it claimed (-1: the claim failed). */
	const startBatch = (): Promise<number> => {
		const wakesAtStart = wakes;
		let keys: string[] = [];
		let reportClaim!: (n: number) => void;
		const claim = new Promise<number>((resolve) => {
			reportClaim = resolve;
		});
		const running = batch((claimed) => {
			keys = claimed;
			reportClaim(claimed.length);
		})
			.then(({ n, failure }) => {
				// The drain fails, for the outage log and a retry soon, only when a batch delivered nothing.
				if (failure !== undefined && n === 0) throw failure;
				if (n > 0) {
					outage.ok();
					retryDelayMs = 0;
				}
				if (backoff.size > 0) retryLater(); // resting entities get their turn without a NOTIFY
				return n;
			})
			.catch((error: unknown) => {
				// Temporal or Postgres unreachable: the batch's entities were released (or went with its session).
				reportClaim(-1);
				bridgeBatchFailures.inc();
				outage.failed(error);
				if (!stopped) retryLater();
				return 0;
			})
			.finally(() => {
				for (const key of keys) inFlight.delete(key);
				batches.delete(running);
			});
		batches.add(running);
		// A batch frees its entities when it ends: changes committed meanwhile (a delivery, or a
		// wake-up seen while it held them) may be waiting on them, here and in other bridges.
		void running.then((n) => {
			const woken = wakes !== wakesAtStart && keys.length > 0;
			if (woken) void sql`select pg_notify(${OUTBOX_CHANNEL}, ${self})`.catch(() => {});
			if (n > 0 || woken || wanted) wake();
			else settleIfIdle();
		});
		return claim;
	};

	/** Claims batches one after another while there is work and room; one dispatcher at a time. */
	const dispatch = async () => {
		while (!stopped) {
			if (batches.size >= concurrency) return; // `wanted` stays: a finishing batch wakes us
			wanted = false;
			const claimed = await startBatch();
			if (claimed < entities && !wanted) return; // nothing more to claim now
		}
	};

	/** A NOTIFY, a poll, a reconnect or a finished batch: claim what is pending. */
	const wake = () => {
		if (dispatching) {
			wanted = true;
			return;
		}
		dispatching = dispatch().finally(() => {
			dispatching = undefined;
			// Every slot taken: `wanted` stays set and the next batch to finish wakes us (waking
			// now would only find the slots full again, a loop that never yields).
			if (wanted && !stopped && batches.size < concurrency) wake();
			else settleIfIdle();
		});
	};

	const settleIfIdle = () => {
		if (dispatching || batches.size > 0) return;
		const waiting = idle;
		idle = [];
		for (const resolve of waiting) resolve();
	};

	/** After a failure: try again soon (doubling up to the poll interval), not only on the next NOTIFY. */
	const retryLater = () => {
		if (retryTimer || stopped) return;
		retryDelayMs = Math.min(pollIntervalMs, Math.max(250, retryDelayMs * 2));
		retryTimer = setTimeout(() => {
			retryTimer = undefined;
			wake();
		}, retryDelayMs);
	};

	/** Until nothing more can be delivered now (tests, shutdown): how many were delivered meanwhile. */
	const drain = async (): Promise<number> => {
		const before = delivered;
		wake();
		await new Promise<void>((resolve) => {
			idle.push(resolve);
			settleIfIdle();
		});
		return delivered - before;
	};

	const listener = await sql.listen(
		OUTBOX_CHANNEL,
		(payload) => {
			if (payload === self) return; // this bridge's own: it wakes itself when a batch ends
			wakes++;
			wake();
		},
		() => {
			log.info("bridge listening", { channel: OUTBOX_CHANNEL });
			wakes++; // a NOTIFY may have been missed while the connection was down
			wake(); // on start and after every reconnect
		},
	);
	const timer = setInterval(wake, pollIntervalMs);
	const stopSampling = sampleOutbox(sql);

	return {
		drain,
		get delivered() {
			return delivered;
		},
		async stop() {
			stopped = true;
			stopSampling();
			clearInterval(timer);
			clearTimeout(retryTimer);
			await dispatching;
			await Promise.all([...batches]);
			await listener.unlisten();
			await locks.end({ timeout: 1 }).catch(() => {}); // ends the session: its locks go with it
		},
	};
}

class LockConnectionStuck extends Error {
	override readonly name = "LockConnectionStuck";
}

/** The lock connection is gone or wedged (its session, and its locks, cannot be trusted). */
function lostConnection(error: unknown): boolean {
	if (error instanceof LockConnectionStuck) return true;
	const e = error as { code?: string; errno?: string } | undefined;
	const code = `${e?.code ?? ""} ${e?.errno ?? ""} ${error instanceof Error ? error.message : ""}`;
	return /CONNECTION_(CLOSED|ENDED|DESTROYED)|ECONNRESET|EPIPE|ECONNREFUSED|57P01/.test(code);
}

/** At most `n` holders at once; the others wait in order. */
function semaphore(n: number) {
	let free = n;
	const waiting: Array<() => void> = [];
	return {
		acquire(): Promise<void> {
			if (free > 0) {
				free--;
				return Promise.resolve();
			}
			return new Promise<void>((resolve) => waiting.push(resolve));
		},
		release(): void {
			const next = waiting.shift();
			if (next) next();
			else free++;
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

/** A link to each change's request span (the changes one signal coalesced). */
function linksOf(changes: readonly OutboxRow[]): Link[] {
	const links: Link[] = [];
	for (const c of changes) {
		const ctx = contextOf(c.traceparent);
		const sc = ctx && trace.getSpanContext(ctx);
		if (sc) links.push({ context: sc, attributes: { "herald.outbox_id": Number(c.id) } });
	}
	return links;
}
