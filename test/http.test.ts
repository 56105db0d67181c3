/** The HTTP edge through `app.handle`: error mapping, request ids, limits, compression, CORS, docs. */
import { describe, expect, test } from "bun:test";
import { Elysia, t } from "elysia";
import { createApp } from "../src/app/api.ts";
import { Conflict, NotFound } from "../src/errors.ts";
import { createLogger } from "../src/infra/log.ts";
import { eventually } from "./support/wait.ts";

const lines: string[] = [];
const log = createLogger("debug", {}, (line) => lines.push(line));
const up = async () => {};

function build(probes = { database: up, temporal: up, redis: up }) {
	return createApp({
		log,
		version: "9.9.9",
		corsOrigins: ["https://app.example"],
		bodyLimitBytes: 256,
		probes,
	}).use(
		new Elysia({ prefix: "/api/v1/test-only" })
			.post("/items", ({ body }) => ({ ok: true, name: body.name }), {
				body: t.Object({
					name: t.String({ minLength: 2 }),
					nested: t.Object({ count: t.Integer({ minimum: 0 }) }),
				}),
			})
			.get("/missing", () => {
				throw new NotFound("item");
			})
			.get("/conflict", () => {
				throw new Conflict("already there");
			})
			.get("/bad-response", () => ({ n: "not a number" }) as unknown as { n: number }, {
				response: { 200: t.Object({ n: t.Integer() }) },
			})
			.get("/boom", () => {
				throw new Error("database password is hunter2");
			})
			.get("/big", () => ({ data: "x".repeat(5000) })),
	);
}
const app = build();
const req = (path: string, init?: RequestInit) => app.handle(new Request(`http://localhost${path}`, init));
const post = (path: string, body: string, headers: Record<string, string> = {}) =>
	req(path, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

describe("http edge", () => {
	test("GET /health answers OK as text with a request id", async () => {
		const res = await req("/health");
		expect(res.status).toBe(200);
		expect(await res.text()).toBe("OK");
		expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
	});

	test("a well-formed incoming request id is echoed; a malformed one is replaced", async () => {
		expect(
			(await req("/health", { headers: { "x-request-id": "abc-123" } })).headers.get("x-request-id"),
		).toBe("abc-123");
		const replaced = (await req("/health", { headers: { "x-request-id": "bad id\n" } })).headers.get(
			"x-request-id",
		);
		expect(replaced).not.toBe("bad id\n");
		expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
	});

	test("validation errors are 422 with the field path, nothing echoed as 500", async () => {
		const res = await post("/api/v1/test-only/items", JSON.stringify({ name: "a", nested: { count: -1 } }));
		expect(res.status).toBe(422);
		const body = (await res.json()) as any;
		expect(body.error.code).toBe("validation_failed");
		expect(body.error.requestId).toBe(res.headers.get("x-request-id"));
		const paths = body.error.details.issues.map((i: { path: string }) => i.path);
		expect(paths).toContain("/name");
		expect(paths).toContain("/nested/count");
	});

	test("malformed JSON is 400", async () => {
		const res = await post("/api/v1/test-only/items", "{not json");
		expect(res.status).toBe(400);
		expect(((await res.json()) as any).error.code).toBe("malformed_body");
	});

	test("a body over the limit is 413, through app.handle and through a real socket", async () => {
		const body = JSON.stringify({ name: "x".repeat(400), nested: { count: 1 } });
		const res = await post("/api/v1/test-only/items", body, { "content-length": String(body.length) });
		expect(res.status).toBe(413);
		expect(((await res.json()) as any).error.code).toBe("payload_too_large");
		const served = build().listen({ hostname: "127.0.0.1", port: 0, maxRequestBodySize: 256 });
		try {
			const url = `http://127.0.0.1:${served.server!.port}/api/v1/test-only/items`;
			const viaSocket = await fetch(url, {
				method: "POST",
				body,
				headers: { "content-type": "application/json" },
			});
			expect(viaSocket.status).toBe(413);
			const small = JSON.stringify({ name: "ok", nested: { count: 1 } });
			const accepted = await fetch(url, {
				method: "POST",
				body: small,
				headers: { "content-type": "application/json" },
			});
			expect(accepted.status).toBe(200);
		} finally {
			await served.stop();
		}
	});

	test("unknown routes are 404 with a machine-readable body", async () => {
		const res = await req("/no/such/route");
		expect(res.status).toBe(404);
		expect(((await res.json()) as any).error.code).toBe("route_not_found");
	});

	test("domain errors map to their status", async () => {
		expect((await req("/api/v1/test-only/missing")).status).toBe(404);
		const conflict = await req("/api/v1/test-only/conflict");
		expect(conflict.status).toBe(409);
		expect(((await conflict.json()) as any).error).toMatchObject({
			code: "conflict",
			message: "already there",
		});
	});

	test("unexpected errors are 500 with the request id and no internals; the log has them", async () => {
		lines.length = 0;
		const res = await req("/api/v1/test-only/boom", { headers: { "x-request-id": "req-boom-1" } });
		expect(res.status).toBe(500);
		const text = await res.text();
		expect(text).not.toContain("hunter2");
		expect(JSON.parse(text).error).toEqual({
			code: "internal",
			message: "internal server error",
			requestId: "req-boom-1",
		});
		const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "unhandled error");
		expect(logged?.requestId).toBe("req-boom-1");
	});

	test("a response that breaks its own schema is the server's 500 (logged), not the client's 422", async () => {
		lines.length = 0;
		const res = await req("/api/v1/test-only/bad-response");
		expect(res.status).toBe(500);
		expect(((await res.json()) as any).error.code).toBe("internal");
		expect(lines.some((l) => l.includes("response does not match its schema"))).toBe(true);
	});

	test("access log lines carry the request id", async () => {
		lines.length = 0;
		await req("/health", { headers: { "x-request-id": "req-log-1" } });
		// afterResponse runs after the response is handed back
		const entry = await eventually(() =>
			lines.map((l) => JSON.parse(l)).find((l) => l.msg === "request" && l.requestId === "req-log-1"),
		);
		expect(entry).toMatchObject({ requestId: "req-log-1", method: "GET", path: "/health", status: 200 });
	});

	test("large JSON responses are gzip-compressed when accepted", async () => {
		const res = await req("/api/v1/test-only/big", { headers: { "accept-encoding": "gzip" } });
		expect(res.headers.get("content-encoding")).toBe("gzip");
		const body = JSON.parse(
			new TextDecoder().decode(Bun.gunzipSync(new Uint8Array(await res.arrayBuffer()))),
		);
		expect(body.data.length).toBe(5000);
		const plain = await req("/api/v1/test-only/big");
		expect(plain.headers.get("content-encoding")).toBeNull();
	});

	test("CORS answers only configured origins", async () => {
		const ok = await req("/health", { headers: { origin: "https://app.example" } });
		expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example");
		const other = await req("/health", { headers: { origin: "https://evil.example" } });
		expect(other.headers.get("access-control-allow-origin")).not.toBe("https://evil.example");
	});

	test("/api/v1/health reports each dependency and 503 when one is down", async () => {
		const down = build({
			database: up,
			temporal: up,
			redis: async () => {
				throw new Error("connect ECONNREFUSED redis://default:pw@127.0.0.1:1");
			},
		});
		const res = await down.handle(new Request("http://localhost/api/v1/health"));
		expect(res.status).toBe(503);
		const body = (await res.json()) as any;
		expect(body.status).toBe("degraded");
		expect(body.version).toBe("9.9.9");
		expect(body.database.status).toBe("up");
		expect(body.redis.status).toBe("down");
		expect(body.redis.error).not.toContain("pw@");
		expect(typeof body.redis.latencyMs).toBe("number");
	});

	test("a hanging dependency is reported down after the probe timeout, not hung", async () => {
		const hanging = build({ database: () => new Promise(() => {}), temporal: up, redis: up });
		const res = await hanging.handle(new Request("http://localhost/api/v1/health"));
		expect(res.status).toBe(503);
		expect(((await res.json()) as any).database.error).toContain("timed out");
	});
});

describe("swagger", () => {
	test("the UI page loads its assets locally, not from a CDN", async () => {
		const page = await (await req("/swagger")).text();
		expect(page).toContain("/swagger/assets/swagger-ui-bundle.js");
		expect(page).not.toMatch(/https?:\/\/(unpkg|cdn)/);
		for (const asset of ["swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"]) {
			const res = await req(`/swagger/assets/${asset}`);
			expect(res.status).toBe(200);
			expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
		}
		expect((await req("/swagger/assets/..%2F..%2Fpackage.json")).status).toBe(404);
	});

	test("/swagger/json is an OpenAPI 3 document with tags, summaries and responses", async () => {
		const spec = (await (
			await createApp({
				log,
				version: "1.2.3",
				corsOrigins: ["*"],
				bodyLimitBytes: 1024,
				probes: { database: up, temporal: up, redis: up },
			}).handle(new Request("http://localhost/swagger/json"))
		).json()) as any;
		expect(spec.openapi).toMatch(/^3\./);
		expect(spec.info.version).toBe("1.2.3");
		expect(spec.components.securitySchemes.bearer.scheme).toBe("bearer");
		const operations = Object.entries(spec.paths as Record<string, Record<string, any>>).flatMap(
			([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })),
		);
		expect(operations.map((o) => o.path)).toEqual(expect.arrayContaining(["/health", "/api/v1/health"]));
		expect(operations.some((o) => o.path.startsWith("/swagger"))).toBe(false);
		for (const { op } of operations) {
			expect(op.tags?.length).toBeGreaterThan(0);
			expect(typeof op.summary).toBe("string");
			expect(Object.keys(op.responses ?? {}).length).toBeGreaterThan(0);
		}
		expect(Object.keys(spec.paths["/api/v1/health"].get.responses)).toEqual(
			expect.arrayContaining(["200", "503"]),
		);
	});
});
