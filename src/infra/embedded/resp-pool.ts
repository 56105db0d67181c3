/**
 * Connections behind the gateway: one shared, pipelined connection for
 * ordinary commands, and a small pool of dedicated connections for work that
 * must not share one (transactions, blocking commands, pub/sub).
 */
import { parseRedisUrl, RedisConnectionError, type RedisTarget, RespConnection } from "./resp-connection.ts";

export class RedisConnectionPool {
	private readonly target: RedisTarget;
	private shared: Promise<RespConnection> | undefined;
	private readonly idle: RespConnection[] = [];
	private readonly open = new Set<RespConnection>();
	private closed = false;

	constructor(
		redisUrl: string,
		private readonly maxIdle = 4,
	) {
		this.target = parseRedisUrl(redisUrl);
	}

	/** The shared connection, reconnecting if the previous one dropped. */
	async getShared(): Promise<RespConnection> {
		const current = this.shared ? await this.shared.catch(() => undefined) : undefined;
		if (current && !current.closed) return current;
		this.shared = this.connect();
		try {
			return await this.shared;
		} catch (error) {
			this.shared = undefined;
			throw error;
		}
	}

	/**
	 * Runs `use` on a connection no one else touches. It goes back to the idle
	 * list afterwards only if it is healthy and idle; a failure, or `signal`
	 * aborting (the HTTP client went away mid-BLPOP), closes it instead.
	 */
	async withDedicated<T>(use: (connection: RespConnection) => Promise<T>, signal?: AbortSignal): Promise<T> {
		const connection = await this.acquire();
		const onAbort = () => connection.close();
		signal?.addEventListener("abort", onAbort, { once: true });
		let healthy = false;
		try {
			const result = await use(connection);
			healthy = true;
			return result;
		} finally {
			signal?.removeEventListener("abort", onAbort);
			this.release(connection, healthy);
		}
	}

	/** A fresh connection the caller owns and must close (pub/sub). */
	openDetached(): Promise<RespConnection> {
		return this.connect();
	}

	async close(): Promise<void> {
		this.closed = true;
		for (const connection of this.open) connection.close();
		this.open.clear();
		this.idle.length = 0;
		this.shared = undefined;
	}

	private async acquire(): Promise<RespConnection> {
		while (this.idle.length > 0) {
			const connection = this.idle.pop();
			if (connection && !connection.closed) return connection;
		}
		return this.connect();
	}

	private release(connection: RespConnection, healthy: boolean): void {
		if (
			healthy &&
			!this.closed &&
			!connection.closed &&
			connection.inFlight === 0 &&
			this.idle.length < this.maxIdle
		) {
			this.idle.push(connection);
			return;
		}
		connection.close();
	}

	private async connect(): Promise<RespConnection> {
		if (this.closed) throw new RedisConnectionError("Redis gateway is stopped");
		const connection = await RespConnection.open(this.target);
		if (this.closed) {
			connection.close();
			throw new RedisConnectionError("Redis gateway is stopped");
		}
		this.open.add(connection);
		connection.onClose(() => {
			this.open.delete(connection);
			const index = this.idle.indexOf(connection);
			if (index !== -1) this.idle.splice(index, 1);
		});
		return connection;
	}
}
