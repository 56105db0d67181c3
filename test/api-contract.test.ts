/**
 * The API keeps its contract at the edge, for every route (regressions of
 * what a schema fuzzer, curl and Swagger UI found): no 5xx from client input,
 * authentication before validation, JSON-only bodies, bounded paging, rules
 * in the messages, statuses that the published OpenAPI 3.1 document lists.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MAX_OFFSET } from "../src/http/schema.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { at, createEventAs, joinEvent } from "./support/events.ts";
import { type Registered, register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

let t: TestApp;
let user: Registered;
let doc: any;

beforeAll(async () => {
	t = await startTestApp({
		ADMIN_EMAIL: "contract-admin@example.com",
		ADMIN_PASSWORD: "contract-admin-pw-0123",
	});
	user = await register(t);
	doc = (await t.request("GET", "/swagger/json")).body;
});

afterAll(async () => {
	await t.stop();
});

const raw = (
	method: string,
	path: string,
	init: { body?: BodyInit; headers?: Record<string, string> } = {},
) => t.app.handle(new Request(`http://localhost${path}`, { method, ...init }));

const userCount = async () => (await t.db.sql<{ n: number }[]>`select count(*)::int as n from users`)[0]!.n;

describe("NUL characters", () => {
	test("a NUL in any stored text is 422 (not 500) and writes nothing, signed in or not", async () => {
		const before = await userCount();
		const res = await t.request("POST", "/api/v1/auth/register", {
			body: { email: "nul@example.com", password: "a-long-enough-password", displayName: "a\u0000b" },
		});
		expect(res.status).toBe(422);
		expect(res.body.error.details.issues[0]).toMatchObject({ path: "/displayName" });
		expect(await userCount()).toBe(before);

		for (const [method, path, body] of [
			["PATCH", "/api/v1/users/me", { displayName: "x\u0000" }],
			["POST", "/api/v1/events", { title: "t\u0000", startsAt: at(24), endsAt: at(25), capacity: 2 }],
			["POST", "/api/v1/channels", { kind: "telegram", chatId: "123", name: "n\u0000" }],
		] as const) {
			const r = await t.request(method, path, { token: user.accessToken, body });
			expect({ path, status: r.status, code: r.body.error.code }).toEqual({
				path,
				status: 422,
				code: "validation_failed",
			});
		}
		const q = await t.request("GET", "/api/v1/events?status=%00", { token: user.accessToken });
		expect(q.status).toBe(422);
	});
});

describe("paging", () => {
	test("an offset past the maximum is 422 on every list, never a database error", async () => {
		const event = await createEventAs(t, user.accessToken);
		for (const path of [
			"/api/v1/events",
			"/api/v1/notifications",
			"/api/v1/registrations",
			"/api/v1/deliveries",
			`/api/v1/events/${event.id}/participants`,
		]) {
			for (const offset of ["99999999999999999999", String(MAX_OFFSET + 1)]) {
				const res = await t.request("GET", `${path}?offset=${offset}`, { token: user.accessToken });
				expect({ path, status: res.status }).toEqual({ path, status: 422 });
				expect(res.body.error.details.issues[0].path).toBe("/offset");
			}
			expect(
				(await t.request("GET", `${path}?offset=${MAX_OFFSET}`, { token: user.accessToken })).status,
			).toBe(200);
		}
	});

	test("the message names the field and its rule", async () => {
		const res = await t.request("GET", "/api/v1/events?limit=101", { token: user.accessToken });
		expect(res.status).toBe(422);
		expect(res.body.error.details.issues).toEqual([
			{ path: "/limit", message: "must be an integer from 1 to 100" },
		]);
		const e = await t.request("GET", "/api/v1/events?status=open", { token: user.accessToken });
		expect(e.body.error.details.issues[0].message).toBe("must be one of: scheduled, cancelled");
	});
});

describe("bodies", () => {
	test("JSON only: text/plain, XML and no content type are 415; broken JSON is 400", async () => {
		const json = JSON.stringify({ email: "a@example.com", password: "x" });
		for (const type of ["text/plain", "application/xml", ""]) {
			const res = await raw("POST", "/api/v1/auth/login", {
				body: json,
				headers: type ? { "content-type": type } : {},
			});
			expect({ type, status: res.status }).toEqual({ type, status: 415 });
			expect(((await res.json()) as any).error.code).toBe("unsupported_media_type");
		}
		const broken = await raw("POST", "/api/v1/auth/login", {
			body: "{nope",
			headers: { "content-type": "application/json" },
		});
		expect(broken.status).toBe(400);
		expect(((await broken.json()) as any).error.code).toBe("malformed_body");
	});

	test("a body must be a JSON object, and a route with a body needs one", async () => {
		for (const body of ["42", "[]", "null", '"text"'])
			expect(
				(
					await raw("PATCH", "/api/v1/users/me", {
						body,
						headers: { "content-type": "application/json", authorization: `Bearer ${user.accessToken}` },
					})
				).status,
			).toBe(422);
		const none = await raw("PATCH", "/api/v1/users/me", {
			headers: { authorization: `Bearer ${user.accessToken}` },
		});
		expect(none.status).toBe(422);
	});

	test("numbers in JSON bodies are JSON numbers: a numeric string is 422", async () => {
		const res = await t.request("POST", "/api/v1/events", {
			token: user.accessToken,
			body: { title: "Meetup", startsAt: at(24), endsAt: at(26), capacity: "5" },
		});
		expect(res.status).toBe(422);
		expect(res.body.error.details.issues[0].path).toBe("/capacity");
	});

	test("a date without its time is 422 where an instant is documented", async () => {
		const res = await t.request("POST", "/api/v1/events", {
			token: user.accessToken,
			body: { title: "Meetup", startsAt: "2031-01-01", endsAt: at(26), capacity: 5 },
		});
		expect(res.status).toBe(422);
		expect(res.body.error.details.issues[0].path).toBe("/startsAt");
	});
});

describe("authentication before validation", () => {
	test("an anonymous bad body is 401, a non-admin bad query is 403: schemas are not probed", async () => {
		const anon = await t.request("POST", "/api/v1/events", { body: { capacity: "lots" } });
		expect(anon.status).toBe(401);
		const member = await t.request("GET", "/api/v1/admin/users?limit=x", { token: user.accessToken });
		expect(member.status).toBe(403);
	});
});

describe("methods and limits", () => {
	test("a known path with another method is 405 with Allow; an unknown path 404", async () => {
		for (const method of ["TRACE", "PUT"]) {
			const res = await raw(method, "/api/v1/users/me");
			expect(res.status).toBe(405);
			expect(res.headers.get("allow")).toBe("DELETE, GET, HEAD, PATCH");
			expect(res.headers.get("x-request-id")).toBeTruthy();
		}
		expect(
			(await raw("PUT", "/api/v1/events/3fa85f64-5717-4562-b3fc-2c963f66afa6")).headers.get("allow"),
		).toBe("DELETE, GET, HEAD, PATCH");
		expect((await raw("GET", "/api/v1/nothing-here")).status).toBe(404);
	});

	test("413, 414 and 431 carry the error body and the request id", async () => {
		const big = await raw("POST", "/api/v1/auth/login", {
			body: JSON.stringify({ email: "a@example.com", password: "x".repeat(70_000) }),
			headers: { "content-type": "application/json" },
		});
		const long = await raw("GET", `/api/v1/events?q=${"a".repeat(9000)}`);
		const headers = await raw("GET", "/health", { headers: { "x-padding": "p".repeat(17_000) } });
		for (const [res, status, code] of [
			[big, 413, "payload_too_large"],
			[long, 414, "uri_too_long"],
			[headers, 431, "headers_too_large"],
		] as const) {
			expect(res.status).toBe(status);
			expect(res.headers.get("x-request-id")).toBeTruthy();
			expect(((await res.json()) as any).error.code).toBe(code);
		}
	});
});

describe("the OpenAPI document", () => {
	test("declares 3.1 and lists bodies as JSON only", () => {
		expect(doc.openapi).toBe("3.1.0");
		for (const [path, item] of Object.entries<any>(doc.paths))
			for (const [method, op] of Object.entries<any>(item))
				if (op.requestBody)
					expect({ op: `${method} ${path}`, types: Object.keys(op.requestBody.content) }).toEqual({
						op: `${method} ${path}`,
						types: ["application/json"],
					});
	});

	test("documents what the routes return: 204s, 401s, the edge's 400/413/415/422, per-route errors", () => {
		const responses = (method: string, path: string) => Object.keys(doc.paths[path][method].responses);
		// 400/413/415: the edge refuses a bad body on any route that may carry one, schema or not.
		expect(responses("delete", "/api/v1/users/me")).toEqual(["204", "400", "401", "413", "415"]);
		// An authenticated POST also takes `Idempotency-Key`: 409 in flight, 422 reused or malformed.
		expect(responses("post", "/api/v1/auth/logout")).toEqual([
			"204",
			"400",
			"401",
			"409",
			"413",
			"415",
			"422",
		]);
		expect(responses("post", "/api/v1/auth/register")).not.toContain("401");
		expect(responses("post", "/api/v1/auth/login")).not.toContain("409");
		for (const status of ["400", "413", "415", "422"])
			expect(responses("post", "/api/v1/events")).toContain(status);
		expect(doc.paths["/.well-known/jwks.json"].get.responses["200"]).toBeDefined();
		// A route's own non-error body on an error status stays: health's 503 is its report.
		const degraded = doc.paths["/api/v1/health"].get.responses["503"].content["application/json"].schema;
		expect(degraded.properties).toHaveProperty("database");
		// Query numbers are documented as what a client sends: integers.
		const limit = doc.paths["/api/v1/events"].get.parameters.find((p: any) => p.name === "limit");
		expect(limit.schema).toMatchObject({ type: "integer", minimum: 1, maximum: 100 });
	});

	test("every operation's example request, built as Swagger UI builds it, gets a documented status", async () => {
		const admin = (
			await t.request("POST", "/api/v1/auth/login", {
				body: { email: "contract-admin@example.com", password: "contract-admin-pw-0123" },
			})
		).body.accessToken;
		const skip = new Set(["delete /api/v1/users/me", "post /api/v1/auth/logout"]); // would end the session
		const statuses = new Map<string, number>();
		for (const [path, item] of Object.entries<any>(doc.paths))
			for (const [method, op] of Object.entries<any>(item)) {
				if (skip.has(`${method} ${path}`)) continue;
				const url = path.replace(/\{([^}]+)\}/g, (_, name) => {
					const param = op.parameters.find((p: any) => p.name === name);
					return encodeURIComponent(String(sample(param.schema, doc)));
				});
				const query = new URLSearchParams();
				for (const p of op.parameters ?? [])
					if (p.in === "query" && p.required) query.set(p.name, String(sample(p.schema, doc)));
				const body = op.requestBody
					? sample(op.requestBody.content["application/json"].schema, doc)
					: undefined;
				const res = await t.request(method.toUpperCase(), `${url}${query.size ? `?${query}` : ""}`, {
					token: op.security ? admin : undefined,
					body,
				});
				expect({ op: `${method} ${path}`, documented: String(res.status) in op.responses }).toEqual({
					op: `${method} ${path}`,
					documented: true,
				});
				expect(res.status).toBeLessThan(500);
				statuses.set(`${method} ${path}`, res.status);
			}
		// The examples are real: Swagger UI's prefilled bodies create an event, an account, a channel.
		expect(statuses.get("post /api/v1/events")).toBe(201);
		expect(statuses.get("post /api/v1/auth/register")).toBe(201);
		expect(statuses.get("post /api/v1/channels")).toBe(201);
	});
});

describe("events", () => {
	test("cancelling an event notifies its participants; each gets one notification", async () => {
		const owner = await register(t);
		const guest = await register(t);
		const event = await createEventAs(t, owner.accessToken, { capacity: 1 });
		const waiting = await register(t);
		expect((await joinEvent(t, event.id, guest.accessToken)).status).toBe(201);
		expect((await joinEvent(t, event.id, waiting.accessToken)).status).toBe(201);
		const cancelled = await t.request("PATCH", `/api/v1/events/${event.id}`, {
			token: owner.accessToken,
			body: { status: "cancelled" },
		});
		expect(cancelled.status).toBe(200);
		// The event actor runs in a worker; this app has none, so the activity is what the actor calls.
		const { createEventActivities } = await import("../activities/events/index.ts");
		const activities = createEventActivities({ sql: t.db.sql });
		const ids = await activities.notifyEventCancelled(event.id);
		expect(ids).toHaveLength(2);
		expect(await activities.notifyEventCancelled(event.id)).toEqual(ids); // idempotent
		for (const person of [guest, waiting]) {
			const inbox = await eventually(async () => {
				const res = await t.request("GET", "/api/v1/notifications", { token: person.accessToken });
				return res.body.items.length > 0 ? res.body.items : undefined;
			});
			expect(inbox.map((n: any) => n.kind)).toEqual(["event_cancelled"]);
		}
	});

	test("the participant list: the owner reads it, a participant gets 403, a stranger 404", async () => {
		const owner = await register(t);
		const guest = await register(t);
		const stranger = await register(t);
		const event = await createEventAs(t, owner.accessToken);
		await joinEvent(t, event.id, guest.accessToken);
		const list = (token: string) => t.request("GET", `/api/v1/events/${event.id}/participants`, { token });
		expect((await list(owner.accessToken)).status).toBe(200);
		expect((await t.request("GET", `/api/v1/events/${event.id}`, { token: guest.accessToken })).status).toBe(
			200,
		);
		expect((await list(guest.accessToken)).status).toBe(403);
		expect((await list(stranger.accessToken)).status).toBe(404);
	});
});

/**
 * What Swagger UI puts in a "Try it out" request: the schema's example, else
 * its default, else the first enum value, else a placeholder of the type.
 */
function sample(schema: any, root: any): unknown {
	if (!schema) return undefined;
	if (schema.$ref) return sample(root.components.schemas[schema.$ref.split("/").pop()], root);
	if (schema.example !== undefined) return schema.example;
	if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
	if (schema.default !== undefined) return schema.default;
	if (schema.const !== undefined) return schema.const;
	if (Array.isArray(schema.enum)) return schema.enum[0];
	if (schema.anyOf) return sample(schema.anyOf[0], root);
	if (schema.oneOf) return sample(schema.oneOf[0], root);
	switch (schema.type) {
		case "object":
			return Object.fromEntries(
				Object.entries<any>(schema.properties ?? {})
					.filter(([, s]) => !s.not)
					.map(([k, s]) => [k, sample(s, root)]),
			);
		case "array":
			return [sample(schema.items, root)];
		case "integer":
		case "number":
			return schema.minimum ?? 0;
		case "boolean":
			return true;
		case "string":
			if (schema.format === "uuid") return "3fa85f64-5717-4562-b3fc-2c963f66afa6";
			if (schema.format === "date-time") return new Date().toISOString();
			if (schema.format === "email") return "user@example.com";
			return "string";
		default:
			return undefined;
	}
}
