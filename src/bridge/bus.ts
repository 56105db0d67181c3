/**
 * The event bus: with NATS_URL set, the bridge also publishes every outbox
 * change to a JetStream stream, subject `<prefix>.<table>.<operation>`
 * (`herald.events.update`), with `Nats-Msg-Id` = `<database>:<outbox id>`
 * (the database's stable identity, `databaseIdentity` in outbox.ts: two
 * Herald databases publishing to one stream never share an id). A change the
 * bridge sends again after a crash is dropped by JetStream's duplicate
 * window, so a consumer sees each change once.
 *
 * The bridge publishes an entity's changes only after its Temporal signals
 * succeeded, and marks each change delivered as soon as JetStream acknowledged
 * it: however long Temporal is down, nothing reaches the stream until then, so
 * the retries of an outage never publish again (see bridge.ts for the rest).
 * A publish honours the batch's deadline (BRIDGE_BATCH_TIMEOUT_MS).
 *
 * The connection is made lazily and kept: NATS down at start-up or later
 * fails the publishes (the batch stays pending, the bridge retries), and the
 * client reconnects on its own. The stream is created idempotently on each
 * (re)connection.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection, nanos } from "@nats-io/transport-node";
import type { Logger } from "../infra/log.ts";
import { busPublishes as published, sampleBusConnected } from "./metrics.ts";
import type { OutboxRow } from "./outbox.ts";

export interface BusOptions {
	url: string;
	/** Stream name (NATS_STREAM). */
	stream: string;
	/** First subject token (NATS_SUBJECT_PREFIX). */
	subjectPrefix: string;
	/** How long JetStream remembers a message id (NATS_DUPLICATE_WINDOW_SECONDS). */
	duplicateWindowSeconds: number;
	/** Bound for one connect or one publish acknowledgement. */
	timeoutMs?: number;
	log: Logger;
}

/** What a consumer receives as the message body (JSON). */
export interface BusChange {
	/** The Herald database the change comes from (its stable identity; part of `Nats-Msg-Id`). */
	source: string;
	outboxId: number;
	table: string;
	operation: OutboxRow["operation"];
	entityKey: string;
	rowId: string;
	committedAt: string;
}

export interface PublishOptions {
	/** The database the changes come from (`databaseIdentity`): the first part of each message id. */
	source: string;
	/** Epoch ms past which the publish gives up (the batch's deadline): rejects with `BusDeadline`. */
	deadline?: number;
	/** Called for each change JetStream acknowledged, in order, as soon as it did. */
	onPublished?: (change: OutboxRow) => void;
}

export interface EventBus {
	/**
	 * Publishes `changes` one after another, each once acknowledged; rejects at the first that is
	 * not (those before it were acknowledged: `onPublished` saw them).
	 */
	publish(changes: readonly OutboxRow[], options: PublishOptions): Promise<void>;
	/** Whether the connection is up (health, metrics). */
	readonly connected: boolean;
	close(): Promise<void>;
}

/** The publish ran past its deadline (its batch ends; what was acknowledged counts). */
export class BusDeadline extends Error {
	override readonly name = "BusDeadline";
}

export const messageIdOf = (source: string, change: Pick<OutboxRow, "id">) => `${source}:${change.id}`;

export const subjectOf = (prefix: string, change: Pick<OutboxRow, "table_name" | "operation">) =>
	`${prefix}.${change.table_name}.${change.operation.toLowerCase()}`;

export function createBus(options: BusOptions): EventBus {
	const log = options.log.child({ component: "event-bus" });
	const timeout = options.timeoutMs ?? 5000;
	let connection: Promise<NatsConnection> | undefined;
	let up = false;
	let closed = false;
	const setUp = (value: boolean) => {
		up = value;
	};
	const unsample = sampleBusConnected(() => up);

	const ensureStream = async (nc: NatsConnection) => {
		const jsm = await jetstreamManager(nc, { timeout });
		const config = {
			name: options.stream,
			subjects: [`${options.subjectPrefix}.>`],
			duplicate_window: nanos(options.duplicateWindowSeconds * 1000),
		};
		try {
			await jsm.streams.info(options.stream);
			await jsm.streams.update(options.stream, {
				subjects: config.subjects,
				duplicate_window: config.duplicate_window,
			});
		} catch (error) {
			if (!/stream not found/i.test(String(error))) throw error;
			await jsm.streams.add(config).catch(async (e: unknown) => {
				// Another bridge created it meanwhile.
				if (!/already in use/i.test(String(e))) throw e;
			});
		}
	};

	const open = async (): Promise<NatsConnection> => {
		const nc = await connect({
			servers: options.url,
			timeout,
			reconnect: true,
			maxReconnectAttempts: -1,
			reconnectTimeWait: 500,
			name: "herald-bridge",
		});
		try {
			await ensureStream(nc);
		} catch (error) {
			await nc.close().catch(() => {});
			throw error;
		}
		setUp(true);
		log.info("event bus connected", { stream: options.stream });
		void (async () => {
			for await (const s of nc.status()) {
				if (s.type === "disconnect") {
					setUp(false);
					log.warn("event bus disconnected; publishes wait for it");
				} else if (s.type === "reconnect") {
					// The stream may be gone with a server that lost its store.
					await ensureStream(nc).then(
						() => setUp(true),
						(error: unknown) => log.warn("event bus stream check failed", { error: String(error) }),
					);
				}
			}
		})().catch(() => {});
		void nc.closed().then(() => {
			setUp(false);
			if (connection && !closed) connection = undefined; // connect anew on the next publish
		});
		return nc;
	};

	const conn = (): Promise<NatsConnection> => {
		connection ??= open().catch((error: unknown) => {
			connection = undefined;
			setUp(false);
			throw error;
		});
		return connection;
	};

	// Connect now, and again while down with no connection attempt under way: health shows the
	// bus's state even when no change is waiting.
	const dial = () => {
		if (!connection && !closed)
			void conn().catch((error: unknown) => log.debug("event bus unreachable", { error: String(error) }));
	};
	dial();
	const redial = setInterval(dial, 2000);
	redial.unref?.();

	return {
		async publish(changes, { source, deadline = Number.POSITIVE_INFINITY, onPublished }) {
			if (changes.length === 0) return;
			/** What is left of the deadline for the next step, bounded by the bus's own timeout. */
			const remaining = () => {
				const left = Math.min(timeout, deadline - Date.now());
				if (left <= 0) throw new BusDeadline("event bus: the batch's deadline passed");
				return left;
			};
			const nc = await beforeDeadline(conn(), remaining());
			const js = jetstream(nc, { timeout });
			// One at a time: a change JetStream did not take stops its entity's later ones, so the
			// stream holds every entity's changes in commit order even across failures and resends.
			for (const c of changes) {
				const body: BusChange = {
					source,
					outboxId: Number(c.id),
					table: c.table_name,
					operation: c.operation,
					entityKey: c.entity_key,
					rowId: c.row_id,
					committedAt: new Date(c.created_at).toISOString(),
				};
				try {
					const h = headers();
					if (c.traceparent) h.set("traceparent", c.traceparent); // the request that made the change
					const left = remaining();
					const ack = await beforeDeadline(
						js.publish(subjectOf(options.subjectPrefix, c), JSON.stringify(body), {
							msgID: messageIdOf(source, c),
							timeout: left,
							headers: h,
						}),
						left,
					);
					published.inc({ outcome: ack.duplicate ? "duplicate" : "ok" });
					onPublished?.(c);
				} catch (error) {
					published.inc({ outcome: "error" });
					throw error;
				}
			}
		},
		get connected() {
			return up;
		},
		async close() {
			closed = true;
			clearInterval(redial);
			const pending = connection;
			connection = undefined;
			const nc = await pending?.catch(() => undefined);
			await nc?.drain().catch(() => {});
			setUp(false);
			unsample();
		},
	};
}

/**
 * `work`, or `BusDeadline` after `ms`: the client's own timeouts cover a request that got an
 * answer slot, not a connection that is still being made or a write that never leaves.
 */
function beforeDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
	let timer: Timer | undefined;
	return Promise.race([
		work,
		new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new BusDeadline("event bus: the batch's deadline passed")), ms);
		}),
	]).finally(() => clearTimeout(timer));
}
