/**
 * The Upstash-compatible gateway, driven by the real `@upstash/redis` client
 * (plus raw `fetch` where the wire format itself is the point). Runs against
 * REDIS_URL or the local Redis on 6379; every key lives under a prefix unique
 * to this run and is deleted afterwards.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRedisGateway } from "../src/infra/embedded/redis-gateway.ts";
import { startRedisServer } from "../src/infra/embedded/redis-server.ts";
import { createRedis, pingRedis } from "../src/infra/redis/client.ts";
import { startTestGateway } from "./fixtures/redis-gateway.ts";

const env = await startTestGateway("gateway");
const { gateway, redis, token } = env;
const k = env.key;
afterAll(() => env.stop());

/** POST to the gateway without the client, to look at the wire format. */
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
	fetch(`${gateway.url}${path}`, {
		method: "POST",
		headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...headers },
		body: JSON.stringify(body),
	});

describe("strings, counters, expiry", () => {
	test("SET with EX and NX, GET", async () => {
		expect(await redis.set(k("greeting"), "hello", { ex: 100 })).toBe("OK");
		expect(await redis.get<string>(k("greeting"))).toBe("hello");
		expect(await redis.set(k("greeting"), "other", { nx: true })).toBeNull();
		expect(await redis.get<string>(k("greeting"))).toBe("hello");
		const ttl = await redis.ttl(k("greeting"));
		expect(ttl).toBeGreaterThan(0);
		expect(ttl).toBeLessThanOrEqual(100);
	});

	test("INCR and DEL", async () => {
		expect(await redis.incr(k("counter"))).toBe(1);
		expect(await redis.incr(k("counter"))).toBe(2);
		expect(await redis.incrby(k("counter"), 40)).toBe(42);
		expect(await redis.del(k("counter"))).toBe(1);
		expect(await redis.get(k("counter"))).toBeNull();
		expect(await redis.del(k("counter"))).toBe(0);
	});

	test("EXPIRE and TTL", async () => {
		await redis.set(k("session"), "s");
		expect(await redis.ttl(k("session"))).toBe(-1);
		expect(await redis.expire(k("session"), 50)).toBe(1);
		const ttl = await redis.ttl(k("session"));
		expect(ttl).toBeGreaterThan(0);
		expect(ttl).toBeLessThanOrEqual(50);
		expect(await redis.ttl(k("missing"))).toBe(-2);
		expect(await redis.expire(k("missing"), 50)).toBe(0);
	});

	test("HSET and HGETALL (numeric-looking strings come back as numbers: client deserialization)", async () => {
		expect(await redis.hset(k("user"), { name: "ann", score: "42" })).toBe(2);
		expect(await redis.hgetall(k("user"))).toEqual({ name: "ann", score: 42 });
		expect(await redis.hget<string>(k("user"), "name")).toBe("ann");
		expect(await redis.hgetall(k("nobody"))).toBeNull();
	});
});

describe("sorted sets (leaderboards)", () => {
	test("ZADD, ZINCRBY, ZRANGE REV WITHSCORES, ZREVRANK, ZSCORE", async () => {
		const board = k("board");
		expect(
			await redis.zadd(
				board,
				{ score: 10, member: "alice" },
				{ score: 30, member: "bob" },
				{ score: 20, member: "carol" },
			),
		).toBe(3);
		expect(await redis.zincrby(board, 15, "alice")).toBe(25);
		expect(await redis.zrange(board, 0, -1, { rev: true, withScores: true })).toEqual([
			"bob",
			30,
			"alice",
			25,
			"carol",
			20,
		]);
		expect(await redis.zrange(board, 0, 1)).toEqual(["carol", "alice"]);
		expect(await redis.zrevrank(board, "alice")).toBe(1);
		expect(await redis.zrevrank(board, "nobody")).toBeNull();
		expect(await redis.zscore(board, "bob")).toBe(30);
		expect(await redis.zincrby(board, 0.5, "carol")).toBe(20.5);
		expect(await redis.zrange(board, 20, 26, { byScore: true })).toEqual(["carol", "alice"]);
	});
});

describe("pipeline and multi-exec", () => {
	test("pipeline returns every result in order, errors per command", async () => {
		const p = redis.pipeline();
		p.set(k("p:a"), "1");
		p.incr(k("p:a"));
		p.get(k("p:a"));
		p.lpush(k("p:list"), "x", "y");
		expect(await p.exec()).toEqual(["OK", 2, 2, 2]);

		const failing = redis.pipeline();
		failing.set(k("p:text"), "abc");
		failing.incr(k("p:text"));
		failing.get(k("p:text"));
		const results = await failing.exec({ keepErrors: true });
		expect(results.map((r) => r.result)).toEqual(["OK", undefined, "abc"]);
		expect(results[1]?.error).toMatch(/not an integer/);
		await expect(failing.exec()).rejects.toThrow(/Command 2 \[ incr \] failed/);
	});

	test("multi-exec runs the commands as one transaction", async () => {
		const m = redis.multi();
		m.set(k("m:a"), "1");
		m.incr(k("m:a"));
		m.rpush(k("m:list"), "one", "two");
		m.lrange(k("m:list"), 0, -1);
		expect(await m.exec()).toEqual(["OK", 2, 2, ["one", "two"]]);
	});

	test("multi-exec is all-or-nothing when a command is rejected (EXECABORT)", async () => {
		const m = redis.multi();
		m.set(k("m:first"), "1");
		m.mset({}); // MSET with no arguments: rejected while queueing
		m.set(k("m:last"), "1");
		await expect(m.exec()).rejects.toThrow(/wrong number of arguments/);
		expect(await redis.exists(k("m:first"), k("m:last"))).toBe(0);

		// The same commands as a pipeline are not atomic: the first SET lands.
		const p = redis.pipeline();
		p.set(k("m:first"), "1");
		p.mset({});
		const results = await p.exec({ keepErrors: true });
		expect(results[1]?.error).toMatch(/wrong number of arguments/);
		expect(await redis.exists(k("m:first"))).toBe(1);
	});

	test("concurrent transactions never interleave", async () => {
		const key = k("m:isolated");
		const runs = await Promise.all(
			Array.from({ length: 20 }, (_, i) => {
				const m = redis.multi();
				m.del(key);
				for (const part of ["a", "b", "c", "d"]) m.rpush(key, `${i}${part}`);
				m.lrange(key, 0, -1);
				return m.exec();
			}),
		);
		runs.forEach((result, i) => {
			expect(result.at(-1)).toEqual([`${i}a`, `${i}b`, `${i}c`, `${i}d`]);
		});
	});

	test("a runtime error inside a transaction is reported for that command only", async () => {
		const m = redis.multi();
		m.set(k("m:text"), "abc");
		m.incr(k("m:text"));
		m.set(k("m:after"), "ok");
		const results = await m.exec({ keepErrors: true });
		expect(results[1]?.error).toMatch(/not an integer/);
		expect(await redis.get<string>(k("m:after"))).toBe("ok");
	});
});

describe("scripts", () => {
	test("EVAL, SCRIPT LOAD and EVALSHA", async () => {
		const lua = "redis.call('SET', KEYS[1], ARGV[1]); return {KEYS[1], redis.call('GET', KEYS[1]), 42}";
		expect(await redis.eval(lua, [k("script")], ["v1"])).toEqual([k("script"), "v1", 42]);
		const sha = await redis.scriptLoad(lua);
		expect(sha).toMatch(/^[0-9a-f]{40}$/);
		expect(await redis.evalsha(sha, [k("script")], ["v2"])).toEqual([k("script"), "v2", 42]);
		await expect(redis.evalsha("0".repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
	});
});

describe("encoding", () => {
	const samples = ["héllo wörld ✓ 🚀 日本語", "nul\u0000byte \u0001\u00ff\nnew line", "", "   spaced   "];

	test("non-ASCII and control characters round-trip through the client", async () => {
		for (const [i, value] of samples.entries()) {
			await redis.set(k(`enc:${i}`), value);
			expect(await redis.get<string>(k(`enc:${i}`))).toBe(value);
		}
		await redis.rpush(k("enc:list"), ...samples.slice(0, 2));
		expect(await redis.lrange(k("enc:list"), 0, -1)).toEqual(samples.slice(0, 2));
	});

	test("Upstash-Encoding: base64 encodes strings recursively, leaves numbers and nulls", async () => {
		const value = samples[0] ?? "";
		await redis.del(k("wire:list"));
		await post("/", ["RPUSH", k("wire:list"), value, "plain"]);
		const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

		const encoded = await post("/", ["LRANGE", k("wire:list"), 0, -1], { "Upstash-Encoding": "base64" });
		expect(await encoded.json()).toEqual({ result: [b64(value), b64("plain")] });
		const plain = await post("/", ["LRANGE", k("wire:list"), 0, -1]);
		expect(await plain.json()).toEqual({ result: [value, "plain"] });

		const mixed = await post(
			"/pipeline",
			[
				["LLEN", k("wire:list")],
				["GET", k("wire:absent")],
				["EVAL", "return {1, 'x', false}", 0],
			],
			{ "Upstash-Encoding": "base64" },
		);
		expect(await mixed.json()).toEqual([{ result: 2 }, { result: null }, { result: [1, b64("x"), null] }]);
	});
});

describe("errors and auth", () => {
	test("a wrong or missing token is rejected with 401", async () => {
		const intruder = createRedis({ url: gateway.url, token: "not-the-token" });
		await expect(intruder.get(k("greeting"))).rejects.toThrow(/Unauthorized/);
		const missing = await fetch(gateway.url, { method: "POST", body: JSON.stringify(["PING"]) });
		expect(missing.status).toBe(401);
		expect(await missing.json()).toEqual({ error: "Unauthorized" });
	});

	test("an unknown command is a 400 { error } that the client throws", async () => {
		await expect(redis.exec(["NOSUCHCOMMAND", "x"])).rejects.toThrow(/unknown command/);
		const response = await post("/", ["NOSUCHCOMMAND", "x"]);
		expect(response.status).toBe(400);
		const body = (await response.json()) as { error?: unknown; result?: unknown };
		expect(typeof body.error).toBe("string");
		expect(body.result).toBeUndefined();
	});

	test("connection-state commands are refused; malformed bodies are 400", async () => {
		await expect(redis.exec(["MULTI"])).rejects.toThrow(/not available/);
		await expect(redis.exec(["SELECT", "1"])).rejects.toThrow(/not available/);
		expect((await post("/", { not: "an array" })).status).toBe(400);
		expect((await post("/", [])).status).toBe(400);
	});

	test("GET / is a health check", async () => {
		expect(await (await fetch(gateway.url)).json()).toEqual({ result: "PONG" });
		expect(await pingRedis(redis)).toBeGreaterThan(0);
	});
});

describe("blocking commands and pub/sub", () => {
	test("a blocked BLPOP does not stall other requests", async () => {
		const queue = k("queue");
		const order: string[] = [];
		const popped = redis.exec<[string, string]>(["BLPOP", queue, "20"]).then((value) => {
			order.push("blpop");
			return value;
		});
		// Wait until Redis has the BLPOP parked, so the GET really runs behind it.
		for (let i = 0; i < 200; i++) {
			const clients = await redis.exec<string>(["CLIENT", "LIST"]);
			if (clients.includes("cmd=blpop")) break;
			await Bun.sleep(10);
		}
		await redis.set(k("beside"), "free");
		expect(await redis.get<string>(k("beside"))).toBe("free");
		order.push("get");
		await redis.rpush(queue, "job-1");
		expect(await popped).toEqual([queue, "job-1"]);
		expect(order).toEqual(["get", "blpop"]);
	});

	test("SUBSCRIBE over server-sent events", async () => {
		const channel = k("channel");
		const subscriber = redis.subscribe<string>(channel);
		const subscribed = new Promise<number>((resolve) => subscriber.on("subscribe", resolve));
		const messages: unknown[] = [];
		const received = new Promise<void>((resolve) =>
			subscriber.on("message", ({ message }) => {
				messages.push(message);
				if (messages.length === 2) resolve();
			}),
		);
		expect(await subscribed).toBe(1);
		expect(await redis.publish(channel, "hello, world")).toBe(1);
		expect(await redis.publish(channel, { n: 1 })).toBe(1);
		await received;
		expect(messages).toEqual(["hello, world", { n: 1 }]);
		await subscriber.unsubscribe();
	});
});

describe("startRedisServer", () => {
	test("spawns redis-server, serves the gateway, stops", async () => {
		const dataDir = mkdtempSync(join(tmpdir(), "herald-redis-"));
		const server = await startRedisServer({ dataDir });
		try {
			expect(server.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
			const local = await startRedisGateway({ redisUrl: server.url, token, port: 0 });
			try {
				const client = createRedis({ url: local.url, token });
				expect(await client.set("probe", "1")).toBe("OK");
				expect(await client.dbsize()).toBe(1);
			} finally {
				await local.stop();
			}
		} finally {
			await server.stop();
			rmSync(dataDir, { recursive: true, force: true });
		}
		await expect(startRedisGateway({ redisUrl: server.url, token, port: 0 })).rejects.toThrow(
			/Cannot connect/,
		);
	});
});
