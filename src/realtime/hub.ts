/**
 * Live fan-out inside one API process. ONE Postgres LISTEN connection
 * (postgres.js `sql.listen` shares a single connection for every channel of a
 * pool) on `notification_created`, `event_changes`, `participant_changes` and
 * a private barrier channel, and an in-memory registry of WebSocket
 * subscribers by user and by event. Every API process holds its own listener.
 *
 * A new subscriber is live once a barrier NOTIFY it triggered comes back:
 * Postgres delivers notifications in commit order, so it then sends
 * `{ type: "ready" }` and gets exactly the changes committed after it (never
 * a late one from before). Deliveries run through two serial queues
 * (notifications, events) so database lookups cannot reorder them.
 *
 * NOTIFY is lost while nobody listens. postgres.js re-runs LISTEN when its
 * connection drops; once every channel is back, live subscribers get
 * `{ type: "resync" }` (refetch over REST) and pending barriers are re-sent.
 */
import type { Sql } from "../infra/db/sql.ts";
import type { Logger } from "../infra/log.ts";
import { findNotification, toNotificationView } from "../notifications/repository.ts";
import { eventAccess, participantEventId } from "./event-access.ts";
import { changeMessage, parseChange, parseNotificationCreated, type RealtimeMessage } from "./messages.ts";

const SYNC_CHANNEL = "herald_realtime_sync";
export const CHANNELS = [
	"notification_created",
	"event_changes",
	"participant_changes",
	SYNC_CHANNEL,
] as const;
type Channel = (typeof CHANNELS)[number];

/** WebSocket close codes the hub uses (4xxx mirror HTTP statuses). */
export const CloseCode = {
	eventDeleted: 1000,
	goingAway: 1001,
	tokenExpired: 4401,
	accessRevoked: 4403,
} as const;

export interface Subscriber {
	send(message: RealtimeMessage): void;
	close(code: number, reason: string): void;
}

export interface RealtimeHub {
	/** Starts listening; returns at once (`ready()` tells when LISTEN is in place). */
	start(): void;
	ready(): Promise<void>;
	/** 1 once every channel listens, +1 each time they are all re-established after a drop. */
	epoch(): number;
	/** Registers at once; the subscriber gets `{ type: "ready" }` when it is live. */
	subscribeUser(userId: string, subscriber: Subscriber): () => void;
	/** `userId` is the watcher, so access can be re-checked when their participant row goes. */
	subscribeEvent(eventId: string, userId: string, subscriber: Subscriber): () => void;
	/** Closes every socket (1001), unlistens and waits for deliveries in flight. Idempotent. */
	stop(): Promise<void>;
}

interface Entry {
	subscriber: Subscriber;
	userId: string;
	live: boolean;
	gone: boolean;
}

export function createRealtimeHub(deps: { sql: Sql; log: Logger }): RealtimeHub {
	const { sql } = deps;
	const log = deps.log.child({ component: "realtime" });
	const hubId = crypto.randomUUID();
	const byUser = new Map<string, Set<Entry>>();
	const byEvent = new Map<string, Set<Entry>>();
	const pending = new Map<string, { entry: Entry; queue: SerialQueue }>();
	const listens = new Map<Channel, number>(CHANNELS.map((c) => [c, 0]));
	const unlistens: Array<() => Promise<unknown>> = [];
	const inflight = new Set<Promise<unknown>>();
	const notificationQueue = serialQueue(log);
	const eventQueue = serialQueue(log);
	let epoch = 0;
	let barriers = 0;
	let markReady!: () => void;
	const ready = new Promise<void>((resolve) => {
		markReady = resolve;
	});
	let starting: Promise<void> | undefined;
	let stopping: Promise<void> | undefined;

	const entries = () => [...byUser.values(), ...byEvent.values()].flatMap((set) => [...set]);
	const send = (set: Iterable<Entry> | undefined, message: RealtimeMessage) => {
		for (const e of set ?? []) if (e.live) e.subscriber.send(message);
	};

	function track(promise: Promise<unknown>): void {
		const p = promise.catch((error: unknown) => log.warn("realtime barrier failed", { error }));
		inflight.add(p);
		void p.finally(() => inflight.delete(p));
	}

	function barrier(token: string): void {
		track(ready.then(() => (stopping ? undefined : sql`select pg_notify(${SYNC_CHANNEL}, ${token})`)));
	}

	function subscribe(index: Map<string, Set<Entry>>, key: string, entry: Entry, queue: SerialQueue) {
		const set = index.get(key) ?? new Set<Entry>();
		index.set(key, set.add(entry));
		const token = `${hubId}:${++barriers}`;
		pending.set(token, { entry, queue });
		barrier(token);
		return () => {
			entry.gone = true;
			pending.delete(token);
			set.delete(entry);
			if (set.size === 0 && index.get(key) === set) index.delete(key);
		};
	}

	function onListen(channel: Channel): void {
		listens.set(channel, (listens.get(channel) ?? 0) + 1);
		const all = Math.min(...listens.values());
		if (all <= epoch) return;
		epoch = all;
		if (epoch === 1) {
			log.info("realtime listening", { channels: CHANNELS });
			markReady();
			return;
		}
		log.warn("realtime listener reconnected; subscribers told to resync", { epoch });
		for (const e of entries()) if (e.live) e.subscriber.send({ type: "resync" });
		for (const token of pending.keys()) barrier(token);
	}

	/** A participant row went away: close that user's sockets on the event unless they still have access. */
	async function recheck(eventId: string, userId: string): Promise<void> {
		const watchers = [...(byEvent.get(eventId) ?? [])].filter((e) => e.userId === userId);
		if (watchers.length === 0) return;
		// "missing": the event itself is being deleted; its DELETE change closes the sockets.
		if ((await eventAccess(sql, eventId, userId)) !== "denied") return;
		for (const e of watchers) e.subscriber.close(CloseCode.accessRevoked, "access revoked");
	}

	const handlers: Record<Channel, (payload: string) => void> = {
		[SYNC_CHANNEL](token) {
			const waiting = pending.get(token);
			if (!waiting) return; // another process's barrier, or a socket already gone
			pending.delete(token);
			waiting.queue.run(() => {
				if (waiting.entry.gone) return;
				waiting.entry.live = true;
				waiting.entry.subscriber.send({ type: "ready" });
			});
		},
		notification_created(text) {
			const created = parseNotificationCreated(text);
			if (!created || !byUser.has(created.userId)) return;
			notificationQueue.run(async () => {
				if (![...(byUser.get(created.userId) ?? [])].some((e) => e.live)) return;
				const row = await findNotification(sql, created.userId, created.id);
				if (row)
					send(byUser.get(created.userId), { type: "notification", notification: toNotificationView(row) });
			});
		},
		event_changes(text) {
			const change = parseChange(text);
			if (!change || !byEvent.has(change.id)) return;
			eventQueue.run(() => {
				send(byEvent.get(change.id), changeMessage("event_change", change));
				if (change.operation === "DELETE")
					for (const e of [...(byEvent.get(change.id) ?? [])])
						e.subscriber.close(CloseCode.eventDeleted, "event deleted");
			});
		},
		participant_changes(text) {
			const change = parseChange(text);
			if (!change || byEvent.size === 0) return;
			eventQueue.run(async () => {
				const fromData = change.data?.event_id;
				// Truncated data: find the event by the participant's id (gone after a DELETE: dropped).
				const eventId = typeof fromData === "string" ? fromData : await participantEventId(sql, change.id);
				if (!eventId || !byEvent.has(eventId)) return;
				send(byEvent.get(eventId), changeMessage("participant_change", change));
				const userId = change.data?.user_id;
				if (change.operation === "DELETE" && typeof userId === "string") await recheck(eventId, userId);
			});
		},
	};

	return {
		start() {
			if (starting || stopping) return;
			starting = Promise.all(
				CHANNELS.map(async (channel) => {
					try {
						const listener = await sql.listen(
							channel,
							(payload) => handlers[channel](payload),
							() => onListen(channel),
						);
						unlistens.push(listener.unlisten);
					} catch (error) {
						// postgres.js retries LISTEN on its next connection; onListen reports success.
						log.error("realtime listen failed", { channel, error });
					}
				}),
			).then(() => {});
		},
		ready: () => ready,
		epoch: () => epoch,
		subscribeUser: (userId, subscriber) =>
			subscribe(byUser, userId, { subscriber, userId, live: false, gone: false }, notificationQueue),
		subscribeEvent: (eventId, userId, subscriber) =>
			subscribe(byEvent, eventId, { subscriber, userId, live: false, gone: false }, eventQueue),
		stop() {
			stopping ??= (async () => {
				for (const e of entries()) e.subscriber.close(CloseCode.goingAway, "server shutting down");
				byUser.clear();
				byEvent.clear();
				pending.clear();
				markReady();
				await starting;
				await Promise.allSettled([...inflight]);
				await Promise.allSettled(unlistens.map((unlisten) => unlisten()));
				await Promise.all([notificationQueue.idle(), eventQueue.idle()]);
			})();
			return stopping;
		},
	};
}

interface SerialQueue {
	run(job: () => void | Promise<void>): void;
	idle(): Promise<void>;
}

/** Runs jobs one after another; a failing job is logged and does not stop the queue. */
function serialQueue(log: Logger): SerialQueue {
	let tail: Promise<void> = Promise.resolve();
	return {
		run(job) {
			tail = tail.then(job).catch((error: unknown) => log.error("realtime delivery failed", { error }));
		},
		idle: () => tail,
	};
}
