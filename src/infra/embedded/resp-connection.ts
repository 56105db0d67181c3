/**
 * One TCP (or TLS) connection to Redis speaking RESP2. Commands are pipelined:
 * each `send` writes at once and waits for its reply in FIFO order. In push
 * mode (pub/sub) every reply goes to the push handler instead.
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { encodeCommand, RedisReplyError, type Reply, ReplyParser } from "./resp.ts";

interface Pending {
	resolve(reply: Reply): void;
	reject(error: Error): void;
}

/** The connection is gone (network error, Redis shut down, or closed by us). */
export class RedisConnectionError extends Error {
	override readonly name = "RedisConnectionError";
}

export interface RedisTarget {
	readonly host: string;
	readonly port: number;
	readonly tls: boolean;
	readonly username: string | undefined;
	readonly password: string | undefined;
	readonly db: number;
}

/** `redis://[user:pass@]host:port[/db]` (or `rediss://` for TLS). */
export function parseRedisUrl(url: string): RedisTarget {
	const parsed = new URL(url);
	if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
		throw new Error(`Unsupported Redis URL scheme "${parsed.protocol}" (expected redis: or rediss:)`);
	}
	const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
	if (!Number.isInteger(db) || db < 0)
		throw new Error(`Invalid Redis database index in URL: ${parsed.pathname}`);
	return {
		host: parsed.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
		port: parsed.port ? Number(parsed.port) : 6379,
		tls: parsed.protocol === "rediss:",
		username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
		password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
		db,
	};
}

export class RespConnection {
	private readonly pending: Pending[] = [];
	private readonly parser = new ReplyParser();
	private onPush: ((reply: Reply) => void) | undefined;
	private closeListeners: Array<(error: Error) => void> = [];
	private closedWith: Error | undefined;

	private constructor(private readonly socket: Socket) {
		socket.on("data", (chunk: Buffer) => this.onData(chunk));
		socket.on("error", (error) =>
			this.fail(new RedisConnectionError(`Redis connection error: ${error.message}`)),
		);
		socket.on("close", () => this.fail(new RedisConnectionError("Redis connection closed")));
	}

	/** Connects, authenticates and selects the database from the target. */
	static async open(target: RedisTarget, timeoutMs = 5000): Promise<RespConnection> {
		const socket = await new Promise<Socket>((resolve, reject) => {
			const options = { host: target.host, port: target.port };
			const sock = target.tls ? tlsConnect({ ...options, servername: target.host }) : netConnect(options);
			const timer = setTimeout(() => {
				sock.destroy();
				reject(new RedisConnectionError(`Timed out connecting to Redis at ${target.host}:${target.port}`));
			}, timeoutMs);
			sock.once(target.tls ? "secureConnect" : "connect", () => {
				clearTimeout(timer);
				sock.removeAllListeners("error");
				resolve(sock);
			});
			sock.once("error", (error) => {
				clearTimeout(timer);
				reject(
					new RedisConnectionError(
						`Cannot connect to Redis at ${target.host}:${target.port}: ${error.message}`,
					),
				);
			});
		});
		socket.setNoDelay(true);
		const connection = new RespConnection(socket);
		const setup: string[][] = [];
		if (target.password !== undefined) {
			setup.push(target.username ? ["AUTH", target.username, target.password] : ["AUTH", target.password]);
		}
		if (target.db !== 0) setup.push(["SELECT", String(target.db)]);
		if (setup.length > 0) {
			const replies = await connection.sendMany(setup);
			const failed = replies.find((reply) => reply instanceof RedisReplyError);
			if (failed instanceof RedisReplyError) {
				connection.close();
				throw new RedisConnectionError(`Redis connection setup failed: ${failed.message}`);
			}
		}
		return connection;
	}

	get closed(): boolean {
		return this.closedWith !== undefined;
	}

	/** Number of commands written whose replies have not arrived yet. */
	get inFlight(): number {
		return this.pending.length;
	}

	send(args: readonly string[]): Promise<Reply> {
		return this.sendMany([args]).then((replies) => replies[0] ?? null);
	}

	/** Writes all commands in one go; resolves with their replies in order. */
	sendMany(commands: ReadonlyArray<readonly string[]>): Promise<Reply[]> {
		if (this.closedWith) return Promise.reject(this.closedWith);
		const promises = commands.map(
			(command) =>
				new Promise<Reply>((resolve, reject) => {
					this.pending.push({ resolve, reject });
					this.socket.write(encodeCommand(command));
				}),
		);
		return Promise.all(promises);
	}

	/** Switches to push mode (pub/sub): replies go to `handler`, `write` sends. */
	startPush(handler: (reply: Reply) => void): void {
		this.onPush = handler;
	}

	write(args: readonly string[]): void {
		if (!this.closedWith) this.socket.write(encodeCommand(args));
	}

	onClose(listener: (error: Error) => void): void {
		if (this.closedWith) listener(this.closedWith);
		else this.closeListeners.push(listener);
	}

	/** Closes the socket; anything still in flight fails. */
	close(): void {
		this.fail(new RedisConnectionError("Redis connection closed by the gateway"));
	}

	private onData(chunk: Buffer): void {
		let replies: Reply[];
		try {
			replies = this.parser.push(chunk);
		} catch (error) {
			this.fail(new RedisConnectionError(error instanceof Error ? error.message : String(error)));
			return;
		}
		for (const reply of replies) {
			const waiter = this.pending.shift();
			if (waiter) waiter.resolve(reply);
			else this.onPush?.(reply);
		}
	}

	private fail(error: Error): void {
		if (this.closedWith) return;
		this.closedWith = error;
		this.socket.destroy();
		for (const waiter of this.pending.splice(0)) waiter.reject(error);
		for (const listener of this.closeListeners.splice(0)) listener(error);
	}
}
