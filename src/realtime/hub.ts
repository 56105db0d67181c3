/**
 * Live fan-out inside one API process, by topic. Features register topics
 * (events, notifications today; leaderboards and sync pokes next): each names
 * the NOTIFY channels it listens to and turns their payloads into messages
 * for the subscribers of one key (a user, an event, …). The hub holds ONE
 * Postgres LISTEN connection (postgres.js `sql.listen` shares a single
 * connection for every channel of a pool) for every topic's channels plus a
 * private barrier channel, and an in-memory registry of WebSocket
 * subscribers by topic and key. Every API process holds its own listener.
 *
 * A new subscriber is live once a barrier NOTIFY it triggered comes back:
 * Postgres delivers notifications in commit order, so it then sends
 * `{ type: "ready" }` and gets exactly the changes committed after it (never
 * a late one from before). Each topic's deliveries run through its own serial
 * queue, so database lookups cannot reorder them.
 *
 * NOTIFY is lost while nobody listens. postgres.js re-runs LISTEN when its
 * connection drops; once every channel is back, live subscribers get
 * `{ type: "resync" }` (refetch over REST) and pending barriers are re-sent.
 */
import type { Sql } from "../infra/db/sql.ts";
import type { Logger } from "../infra/log.ts";

const SYNC_CHANNEL = "herald_realtime_sync";

/** WebSocket close codes the hub and its topics use (4xxx mirror HTTP statuses). */
export const CloseCode = {
	normal: 1000,
	goingAway: 1001,
	tryAgainLater: 1013,
	tokenExpired: 4401,
	accessRevoked: 4403,
	/** Unsent bytes passed the socket's limit: the client reconnects (and gets a fresh snapshot). */
	slowReader: 4429,
} as const;

/** Every message has a `type`; `ready` and `resync` are the hub's own. */
export interface RealtimeMessage {
	readonly type: string;
}

export interface Subscriber {
	send(message: RealtimeMessage): void;
	close(code: number, reason: string): void;
}

/** What a topic's handler may do with the subscribers of its keys. */
export interface TopicContext {
	readonly sql: Sql;
	readonly log: Logger;
	/** Whether `key` has a live subscriber. */
	has(key: string): boolean;
	/** Sends to every live subscriber of `key`. */
	send<M extends RealtimeMessage>(key: string, message: M): void;
	/** The distinct users with a live subscriber of `key`. */
	watchers(key: string): string[];
	/** Sends each live subscriber of `key` its own message (none when `messageFor` returns undefined). */
	sendEach<M extends RealtimeMessage>(key: string, messageFor: (userId: string) => M | undefined): void;
	/** Closes the sockets of `key` (only `userId`'s, when given). */
	close(key: string, code: number, reason: string, userId?: string): void;
	/** Whether `userId` watches `key`. */
	watching(key: string, userId: string): boolean;
}

export interface Topic {
	readonly name: string;
	/** The NOTIFY channels whose payloads this topic turns into messages. */
	readonly channels: readonly string[];
	/** Runs in the topic's serial queue, in the order the notifications arrived. */
	onNotify(channel: string, payload: string, topic: TopicContext): void | Promise<void>;
}

export interface RealtimeHub {
	/** Starts listening; returns at once (`ready()` tells when LISTEN is in place). */
	start(): void;
	ready(): Promise<void>;
	/** 1 once every channel listens, +1 each time they are all re-established after a drop. */
	epoch(): number;
	/**
	 * Registers at once; the subscriber gets `{ type: "ready" }` when it is live.
	 * `userId` is the watcher, so a topic can re-check one user's access.
	 */
	subscribe(topic: string, key: string, userId: string, subscriber: Subscriber): () => void;
	/** Closes every socket (1001), unlistens and waits for deliveries in flight. Idempotent. */
	stop(): Promise<void>;
}

interface Entry {
	subscriber: Subscriber;
	userId: string;
	live: boolean;
	gone: boolean;
}

export function createRealtimeHub(deps: { sql: Sql; log: Logger; topics: readonly Topic[] }): RealtimeHub {
	const { sql } = deps;
	const log = deps.log.child({ component: "realtime" });
	const hubId = crypto.randomUUID();
	const topics = new Map(
		deps.topics.map((topic) => [
			topic.name,
			{ topic, index: new Map<string, Set<Entry>>(), queue: serialQueue(log) },
		]),
	);
	const byChannel = new Map<string, Array<typeof topics extends Map<string, infer T> ? T : never>>();
	for (const t of topics.values())
		for (const channel of t.topic.channels) byChannel.set(channel, [...(byChannel.get(channel) ?? []), t]);
	const channels = [...byChannel.keys(), SYNC_CHANNEL];
	const pending = new Map<string, { entry: Entry; queue: SerialQueue }>();
	const listens = new Map<string, number>(channels.map((c) => [c, 0]));
	const unlistens: Array<() => Promise<unknown>> = [];
	const inflight = new Set<Promise<unknown>>();
	let epoch = 0;
	let barriers = 0;
	let markReady!: () => void;
	const ready = new Promise<void>((resolve) => {
		markReady = resolve;
	});
	let starting: Promise<void> | undefined;
	let stopping: Promise<void> | undefined;

	const entries = () => [...topics.values()].flatMap((t) => [...t.index.values()].flatMap((set) => [...set]));

	const contextOf = (index: Map<string, Set<Entry>>): TopicContext => ({
		sql,
		log,
		has: (key) => [...(index.get(key) ?? [])].some((e) => e.live),
		send(key, message) {
			for (const e of index.get(key) ?? []) if (e.live) e.subscriber.send(message);
		},
		watchers: (key) => [...new Set([...(index.get(key) ?? [])].filter((e) => e.live).map((e) => e.userId))],
		sendEach(key, messageFor) {
			const byUser = new Map<string, RealtimeMessage | undefined>();
			for (const e of index.get(key) ?? []) {
				if (!e.live) continue;
				if (!byUser.has(e.userId)) byUser.set(e.userId, messageFor(e.userId));
				const message = byUser.get(e.userId);
				if (message) e.subscriber.send(message);
			}
		},
		close(key, code, reason, userId) {
			for (const e of [...(index.get(key) ?? [])])
				if (userId === undefined || e.userId === userId) e.subscriber.close(code, reason);
		},
		watching: (key, userId) => [...(index.get(key) ?? [])].some((e) => e.userId === userId),
	});
	const contexts = new Map([...topics].map(([name, t]) => [name, contextOf(t.index)]));

	function track(promise: Promise<unknown>): void {
		const p = promise.catch((error: unknown) => log.warn("realtime barrier failed", { error }));
		inflight.add(p);
		void p.finally(() => inflight.delete(p));
	}

	function barrier(token: string): void {
		track(ready.then(() => (stopping ? undefined : sql`select pg_notify(${SYNC_CHANNEL}, ${token})`)));
	}

	function onListen(channel: string): void {
		listens.set(channel, (listens.get(channel) ?? 0) + 1);
		const all = Math.min(...listens.values());
		if (all <= epoch) return;
		epoch = all;
		if (epoch === 1) {
			log.info("realtime listening", { channels });
			markReady();
			return;
		}
		log.warn("realtime listener reconnected; subscribers told to resync", { epoch });
		for (const e of entries()) if (e.live) e.subscriber.send({ type: "resync" });
		for (const token of pending.keys()) barrier(token);
	}

	function onNotify(channel: string, payload: string): void {
		if (channel === SYNC_CHANNEL) {
			const waiting = pending.get(payload);
			if (!waiting) return; // another process's barrier, or a socket already gone
			pending.delete(payload);
			waiting.queue.run(() => {
				if (waiting.entry.gone) return;
				waiting.entry.live = true;
				waiting.entry.subscriber.send({ type: "ready" });
			});
			return;
		}
		for (const t of byChannel.get(channel) ?? []) {
			if (t.index.size === 0) continue; // nobody watches this topic in this process
			const ctx = contexts.get(t.topic.name)!;
			t.queue.run(() => t.topic.onNotify(channel, payload, ctx));
		}
	}

	return {
		start() {
			if (starting || stopping) return;
			starting = Promise.all(
				channels.map(async (channel) => {
					try {
						const listener = await sql.listen(
							channel,
							(payload) => onNotify(channel, payload),
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
		subscribe(topicName, key, userId, subscriber) {
			const t = topics.get(topicName);
			if (!t) throw new Error(`unknown realtime topic ${topicName}`);
			const entry: Entry = { subscriber, userId, live: false, gone: false };
			const set = t.index.get(key) ?? new Set<Entry>();
			t.index.set(key, set.add(entry));
			const token = `${hubId}:${++barriers}`;
			pending.set(token, { entry, queue: t.queue });
			barrier(token);
			return () => {
				entry.gone = true;
				pending.delete(token);
				set.delete(entry);
				if (set.size === 0 && t.index.get(key) === set) t.index.delete(key);
			};
		},
		stop() {
			stopping ??= (async () => {
				for (const e of entries()) e.subscriber.close(CloseCode.goingAway, "server shutting down");
				for (const t of topics.values()) t.index.clear();
				pending.clear();
				markReady();
				await starting;
				await Promise.allSettled([...inflight]);
				await Promise.allSettled(unlistens.map((unlisten) => unlisten()));
				await Promise.all([...topics.values()].map((t) => t.queue.idle()));
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
