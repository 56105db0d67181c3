/**
 * Who is signed in, from memory. Every API process keeps the user rows of
 * the live sessions it has seen (and of external identities), so a bearer
 * check costs no database round trip. The database stays the authority:
 *
 * - Triggers (migration 00009) NOTIFY `herald_auth` at commit whenever a
 *   session is revoked or deleted (`s:<id>`), a user changes or is deleted
 *   (`u:<id>`), or an external identity is unlinked. A dedicated LISTEN
 *   connection per process drops the matching entries.
 * - A lookup that raced an invalidation is not cached (a generation counter).
 * - Read-your-revocation across processes: after committing a revocation
 *   (logout, refresh-token reuse, account deletion, profile change) the API
 *   calls `settle()`. It NOTIFYs a barrier and waits until every process's
 *   listener (found in `pg_stat_activity` by application name) acknowledges
 *   it. Postgres delivers notifications in commit order, so an
 *   acknowledgement means that process has already dropped what the
 *   revocation invalidated: the next request anywhere is refused.
 * - Fallback: while the listener is not connected, or its heartbeat has not
 *   come back in time, the cache is empty and bypassed (every check reads
 *   the database). Reconnecting empties it again, because notifications sent
 *   while nobody listened are lost.
 */
import { createSessionConnection, type Sql } from "../infra/db/sql.ts";
import type { Logger } from "../infra/log.ts";
import type { UserRow } from "../users/repository.ts";

export const AUTH_CHANNEL = "herald_auth";
export const AUTH_LISTENER_NAME = "herald-auth-cache";

export interface SessionCacheSettings {
	/** Most entries kept (the oldest go first); 0 turns the cache off. */
	maxEntries: number;
	/** An entry is re-read from the database after this long (belt and braces). */
	ttlSeconds: number;
	/** How long `settle()` waits for every listener's acknowledgement. */
	barrierTimeoutMs: number;
	/** Heartbeat through the listener; no echo within 3 beats = degraded. */
	heartbeatMs: number;
}

export type CacheState = "off" | "connecting" | "live" | "degraded";

export interface SessionCache {
	/** The user of a live Herald session, from memory or `load` (cached unless invalidated meanwhile). */
	session(
		sessionId: string,
		userId: string,
		load: () => Promise<UserRow | undefined>,
	): Promise<UserRow | undefined>;
	/** The user an external identity maps to, from memory or `load`. */
	external(issuer: string, subject: string, load: () => Promise<UserRow>): Promise<UserRow>;
	/** After a committed revocation: resolves once every API process has applied it (bounded). */
	settle(): Promise<void>;
	state(): CacheState;
	size(): number;
	/** Resolves once the listener is live (tests, benchmarks). */
	live(): Promise<void>;
	stop(): Promise<void>;
}

interface Entry {
	user: UserRow;
	at: number;
}

export function createSessionCache(deps: {
	/** The pool; the cache's own LISTEN connection goes to the same database. */
	sql: Sql;
	log: Logger;
	settings: SessionCacheSettings;
}): SessionCache {
	const { sql, settings } = deps;
	const log = deps.log.child({ component: "auth-cache" });
	const entries = new Map<string, Entry>();
	const byUser = new Map<string, Set<string>>();
	let generation = 0;
	let state: CacheState = settings.maxEntries > 0 ? "connecting" : "off";
	let stopped = false;
	let listenerPid = 0;
	let lastEcho = 0;
	let heartbeat: Timer | undefined;
	let reconnect: Timer | undefined;
	let reconnectDelayMs = 0;
	const barriers = new Map<string, { waiting: Set<number>; done: () => void }>();
	let markLive!: () => void;
	let livePromise = new Promise<void>((r) => {
		markLive = r;
	});

	const clear = () => {
		generation++;
		entries.clear();
		byUser.clear();
	};
	const drop = (key: string) => {
		const entry = entries.get(key);
		if (!entry) return;
		entries.delete(key);
		const keys = byUser.get(entry.user.id);
		keys?.delete(key);
		if (keys?.size === 0) byUser.delete(entry.user.id);
	};
	const dropUser = (userId: string) => {
		for (const key of byUser.get(userId) ?? []) entries.delete(key);
		byUser.delete(userId);
	};
	const degrade = (why: string) => {
		if (state === "off" || state === "degraded") return;
		state = "degraded";
		clear();
		log.warn("auth cache degraded: checking sessions in the database", { why });
		livePromise = new Promise<void>((r) => {
			markLive = r;
		});
	};

	const onNotify = (payload: string) => {
		const kind = payload.slice(0, 2);
		const rest = payload.slice(2);
		if (kind === "s:") {
			generation++;
			drop(`s:${rest}`);
		} else if (kind === "u:") {
			generation++;
			dropUser(rest);
		} else if (kind === "b:") {
			// A barrier: everything committed before it has been applied above (commit order).
			void listener`select pg_notify(${AUTH_CHANNEL}, ${`a:${listenerPid}:${rest}`})`.catch(() => {});
		} else if (kind === "a:") {
			const [pid, nonce] = rest.split(":");
			const barrier = barriers.get(nonce ?? "");
			if (barrier) {
				barrier.waiting.delete(Number(pid));
				if (barrier.waiting.size === 0) barrier.done();
			}
		} else if (kind === "h:" && Number(rest) === listenerPid) lastEcho = Date.now();
	};

	/** One connection, never idle-closed: LISTEN lives on it; its close means notifications may be lost. */
	const listener = createSessionConnection(sql, {
		applicationName: AUTH_LISTENER_NAME,
		onnotify: (channel, payload) => {
			if (channel === AUTH_CHANNEL) onNotify(payload);
		},
		onclose: () => {
			if (stopped) return;
			degrade("listener connection closed");
			scheduleConnect();
		},
	});

	const connect = async () => {
		if (stopped || state === "off") return;
		try {
			// One message, so the pid is the listening session's even if a reconnect happens meanwhile.
			const results = (await listener.unsafe(
				`listen "${AUTH_CHANNEL}"; select pg_backend_pid() as pid`,
			)) as unknown as Array<Array<{ pid: number }>>;
			listenerPid = results[1]![0]!.pid;
			lastEcho = Date.now();
			clear(); // nothing heard while not listening can be trusted
			reconnectDelayMs = 0;
			if (state !== "live") log.info("auth cache live", { listenerPid });
			state = "live";
			markLive();
		} catch (error) {
			degrade("listen failed");
			log.debug("auth cache listen failed; retrying", { error });
			scheduleConnect();
		}
	};
	const scheduleConnect = () => {
		if (stopped || reconnect) return;
		reconnectDelayMs = Math.min(5000, Math.max(100, reconnectDelayMs * 2));
		reconnect = setTimeout(() => {
			reconnect = undefined;
			void connect();
		}, reconnectDelayMs);
	};

	if (state !== "off") {
		void connect();
		heartbeat = setInterval(() => {
			if (state !== "live") return;
			if (Date.now() - lastEcho > 3 * settings.heartbeatMs) {
				degrade("heartbeat did not come back");
				scheduleConnect();
				return;
			}
			void listener`select pg_notify(${AUTH_CHANNEL}, ${`h:${listenerPid}`})`.catch(() => {});
		}, settings.heartbeatMs);
		heartbeat.unref?.();
	}

	const fresh = (entry: Entry | undefined) =>
		entry !== undefined && Date.now() - entry.at < settings.ttlSeconds * 1000;

	const store = (key: string, user: UserRow, since: number) => {
		if (!trusted() || since !== generation) return; // an invalidation raced this lookup
		if (entries.size >= settings.maxEntries) {
			const oldest = entries.keys().next().value;
			if (oldest !== undefined) drop(oldest);
		}
		entries.set(key, { user, at: Date.now() });
		const keys = byUser.get(user.id) ?? new Set<string>();
		byUser.set(user.id, keys.add(key));
	};

	/** Live, and heard from lately: a listener that went quiet (half-open, stalled) is not trusted. */
	const trusted = () => state === "live" && Date.now() - lastEcho < 2 * settings.heartbeatMs;

	const cached = async <U extends UserRow | undefined>(
		key: string,
		load: () => Promise<U>,
		accept: (user: UserRow) => boolean,
	): Promise<U> => {
		if (trusted()) {
			const entry = entries.get(key);
			if (fresh(entry) && accept(entry!.user)) return entry!.user as U;
		}
		const since = generation;
		const user = await load();
		if (user) store(key, user, since);
		return user;
	};

	return {
		session: (sessionId, userId, load) => cached(`s:${sessionId}`, load, (u) => u.id === userId),
		external: (issuer, subject, load) => cached(`x:${issuer}\n${subject}`, load, () => true),

		async settle() {
			if (state === "off") return;
			const nonce = crypto.randomUUID();
			const pids = await sql<{ pid: number }[]>`
				select pid from pg_stat_activity
				where application_name = ${AUTH_LISTENER_NAME} and datname = current_database()`;
			const waiting = new Set(pids.map((p) => p.pid));
			if (waiting.size === 0) return;
			let timer: Timer | undefined;
			const acknowledged = new Promise<void>((done) => {
				barriers.set(nonce, { waiting, done });
				timer = setTimeout(done, settings.barrierTimeoutMs);
			});
			try {
				await sql`select pg_notify(${AUTH_CHANNEL}, ${`b:${nonce}`})`;
				await acknowledged;
			} finally {
				clearTimeout(timer);
				barriers.delete(nonce);
			}
			if (waiting.size > 0) {
				// Listeners that closed meanwhile have nothing cached any more; report the others.
				const still = await sql<{ pid: number }[]>`
					select pid from pg_stat_activity where pid = any(${[...waiting]}::int[])
					and application_name = ${AUTH_LISTENER_NAME}`;
				if (still.length > 0)
					log.warn("auth cache: listeners did not acknowledge a revocation in time", {
						pids: still.map((p) => p.pid),
						timeoutMs: settings.barrierTimeoutMs,
					});
			}
		},

		state: () => state,
		size: () => entries.size,
		live: () => (state === "off" ? Promise.resolve() : livePromise),
		async stop() {
			stopped = true;
			clearInterval(heartbeat);
			clearTimeout(reconnect);
			clear();
			for (const b of barriers.values()) b.done();
			await listener.end({ timeout: 1 }).catch(() => {});
		},
	};
}
