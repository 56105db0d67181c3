/**
 * Herald's Upstash-compatible REST gateway: a small HTTP server in front of a
 * TCP Redis, for dev and tests, that `@upstash/redis` talks to exactly as it
 * talks to Upstash.
 *
 * - `POST /` with `["SET","k","v"]` → `{ "result": ... }`
 * - `POST /pipeline` with `[[...],[...]]` → `[{ "result" }|{ "error" }, ...]`
 *   (not atomic; each command answers on its own)
 * - `POST /multi-exec` → same shape, run as `MULTI ... EXEC` on a connection
 *   of its own, so it is atomic
 * - `POST /subscribe/<channel>`, `/psubscribe/<pattern>` → Server-Sent Events
 * - `GET /` → health (PING), no token needed
 *
 * Every other request needs `Authorization: Bearer <token>` (or `?_token=`);
 * otherwise 401. Redis errors are HTTP 400 `{ "error": "..." }`. With the
 * request header `Upstash-Encoding: base64`, strings in results are base64.
 * Blocking commands (BLPOP, XREAD BLOCK, ...) run on a dedicated connection so
 * they never stall other requests.
 */
import { timingSafeEqual } from "node:crypto";
import type { Server } from "bun";
import {
	type CommandReply,
	GatewayRequestError,
	isBlocking,
	parseCommand,
	parseCommands,
	refusal,
	toCommandReply,
} from "./redis-gateway-commands.ts";
import { subscribeResponse } from "./redis-gateway-subscribe.ts";
import { RedisReplyError, type Reply } from "./resp.ts";
import type { RespConnection } from "./resp-connection.ts";
import { RedisConnectionPool } from "./resp-pool.ts";

export interface RedisGateway {
	readonly url: string;
	readonly port: number;
	stop(): Promise<void>;
}

export interface RedisGatewayOptions {
	/** TCP Redis behind the gateway, e.g. `redis://127.0.0.1:6379/0`. */
	readonly redisUrl: string;
	/** Bearer token clients must present. */
	readonly token: string;
	/** 0 picks a free port. */
	readonly port: number;
	/** Defaults to 127.0.0.1. */
	readonly hostname?: string;
}

const json = (body: unknown, status = 200) => Response.json(body, { status });

export async function startRedisGateway(options: RedisGatewayOptions): Promise<RedisGateway> {
	if (!options.token) throw new Error("startRedisGateway: a non-empty token is required");
	const pool = new RedisConnectionPool(options.redisUrl);
	// Fail fast on a wrong URL or a Redis that is down.
	await pool.getShared();
	const expected = Buffer.from(options.token);

	const authorized = (req: Request, url: URL): boolean => {
		const header = req.headers.get("authorization") ?? "";
		const token = header.toLowerCase().startsWith("bearer ")
			? header.slice(7).trim()
			: url.searchParams.get("_token");
		if (!token) return false;
		const given = Buffer.from(token);
		return given.length === expected.length && timingSafeEqual(given, expected);
	};

	const runOne = async (args: string[], base64: boolean, req: Request, server: Server<undefined>) => {
		const refused = refusal(args);
		if (refused) return json({ error: refused }, 400);
		let reply: CommandReply;
		if (isBlocking(args)) {
			server.timeout(req, 0);
			reply = toCommandReply(
				await pool.withDedicated((connection) => connection.send(args), req.signal),
				base64,
			);
		} else {
			reply = toCommandReply(await (await pool.getShared()).send(args), base64);
		}
		return json(reply, "error" in reply ? 400 : 200);
	};

	const runPipeline = async (
		commands: string[][],
		base64: boolean,
		req: Request,
		server: Server<undefined>,
	) => {
		const allowed = commands.filter((args) => refusal(args) === undefined);
		const run = (connection: RespConnection) =>
			allowed.length > 0 ? connection.sendMany(allowed) : Promise.resolve<Reply[]>([]);
		let replies: Reply[];
		if (allowed.some(isBlocking)) {
			server.timeout(req, 0);
			replies = await pool.withDedicated(run, req.signal);
		} else {
			replies = await run(await pool.getShared());
		}
		let next = 0;
		return json(
			commands.map((args): CommandReply => {
				const refused = refusal(args);
				return refused ? { error: refused } : toCommandReply(replies[next++] ?? null, base64);
			}),
		);
	};

	const runMultiExec = async (commands: string[][], base64: boolean, req: Request) => {
		for (const args of commands) {
			const refused = refusal(args);
			if (refused) return json({ error: refused }, 400);
		}
		const replies = await pool.withDedicated(
			(connection) => connection.sendMany([["MULTI"], ...commands, ["EXEC"]]),
			req.signal,
		);
		const queued = replies.slice(1, -1);
		const exec = replies.at(-1) ?? null;
		const queueError = queued.find((reply) => reply instanceof RedisReplyError);
		if (queueError instanceof RedisReplyError) return json({ error: queueError.message }, 400);
		if (exec instanceof RedisReplyError) return json({ error: exec.message }, 400);
		if (!Array.isArray(exec)) return json({ error: "ERR transaction aborted" }, 400);
		return json(exec.map((reply) => toCommandReply(reply, base64)));
	};

	const handle = async (req: Request, server: Server<undefined>): Promise<Response> => {
		const url = new URL(req.url);
		const path = url.pathname.replace(/\/+$/, "") || "/";
		if (req.method === "GET" && path === "/") {
			const pong = await (await pool.getShared()).send(["PING"]);
			return json({ result: pong instanceof RedisReplyError ? pong.message : pong });
		}
		if (!authorized(req, url)) return json({ error: "Unauthorized" }, 401);
		if (req.method !== "POST") return json({ error: `ERR ${req.method} ${path} is not supported` }, 405);
		const base64 = req.headers.get("upstash-encoding")?.toLowerCase() === "base64";

		const stream = /^\/(p?subscribe)\/(.+)$/.exec(path);
		if (stream?.[1] && stream[2]) {
			server.timeout(req, 0);
			const kind = stream[1] === "psubscribe" ? "psubscribe" : "subscribe";
			return subscribeResponse(pool, kind, decodeURIComponent(stream[2]), req.signal);
		}
		if (path !== "/" && path !== "/pipeline" && path !== "/multi-exec") {
			return json({ error: `ERR ${path} is not a known endpoint` }, 404);
		}
		let body: unknown;
		try {
			body = await req.json();
		} catch {
			throw new GatewayRequestError("ERR failed to parse the request body as JSON");
		}
		if (path === "/") return runOne(parseCommand(body), base64, req, server);
		if (path === "/pipeline") return runPipeline(parseCommands(body), base64, req, server);
		return runMultiExec(parseCommands(body), base64, req);
	};

	const server = Bun.serve({
		hostname: options.hostname ?? "127.0.0.1",
		port: options.port,
		development: false,
		async fetch(req, srv) {
			try {
				return await handle(req, srv);
			} catch (error) {
				const message = error instanceof Error ? error.message : String(error);
				return json({ error: message }, error instanceof GatewayRequestError ? 400 : 500);
			}
		},
	});
	const port = server.port ?? options.port;
	const host = server.hostname ?? options.hostname ?? "127.0.0.1";

	return {
		url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
		port,
		stop: async () => {
			await pool.close();
			await server.stop(true);
		},
	};
}
