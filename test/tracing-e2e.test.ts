/**
 * One trace from the request to the side effect, across processes: the
 * production api, bridge and worker roles export to a real OTLP/HTTP receiver
 * on loopback. A POST that creates a due reminder carries a `traceparent`;
 * the change's outbox row, the bridge's signal, the reminder actor, its
 * activity, the delivery workflow and its attempt all continue that trace,
 * and the webhook receiver sees it in its `traceparent` header. No span and
 * no log line carries the password, the token, the authorization header or
 * the request body; the api's log lines inside the request carry its ids.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort } from "../src/infra/process.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { FAST_DELIVERY } from "./support/delivery.ts";
import { type OtlpReceiver, startOtlpReceiver } from "./support/otlp.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./support/receivers.ts";
import { herald, killChildren, type RoleProcess, serviceEnv } from "./support/roles.ts";
import { eventually } from "./support/wait.ts";

let db: TestDatabase;
let otlp: OtlpReceiver;
let hook: WebhookReceiver;
const roles: RoleProcess[] = [];
const apiPort = freePort();
const api = `http://127.0.0.1:${apiPort}`;
const PASSWORD = `pw-${crypto.randomUUID()}`;
const BODY_MARK = `body-mark-${crypto.randomUUID()}`;

beforeAll(async () => {
	db = await freshDatabase();
	otlp = startOtlpReceiver();
	hook = startWebhookReceiver(() => new Response("ok"));
	const env = {
		...(await serviceEnv(db.url)),
		...FAST_DELIVERY,
		TEMPORAL_TASK_QUEUE: `test-tracing-${process.pid}`,
		BRIDGE_POLL_MS: "500",
		OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
		AUTH_JWT_SECRET: "tracing-e2e-secret-0123456789-0123456789-abc",
	};
	roles.push(herald(["worker"], env), herald(["bridge"], env));
	roles.push(herald(["api"], { ...env, PORT: String(apiPort), HOST: "127.0.0.1", LOG_LEVEL: "debug" }));
	for (const role of roles)
		await eventually(() => role.output().includes('"msg":"ready"') || role.child.exitCode !== null, {
			what: "role ready",
			timeoutMs: 60_000,
		});
	for (const role of roles) expect(role.child.exitCode).toBeNull();
});

afterAll(async () => {
	killChildren();
	hook?.stop();
	otlp?.stop();
	await db?.drop();
});

const hex = (n: number) =>
	[...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, "0")).join("");
const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
	const res = await fetch(`${api}${path}`, {
		method,
		headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
};

/**
 * Every span but the request's has its parent in the trace. A workflow's span
 * is exported when the workflow ends, after its activities' spans: wait for it.
 */
const complete = (spans: { name: string; spanId: string; parentSpanId?: string }[]) => {
	const ids = new Set(spans.map((s) => s.spanId));
	return spans.every((s) => s.name === "POST /api/v1/reminders" || ids.has(s.parentSpanId ?? ""));
};

describe("a trace from POST to the webhook", () => {
	test("one trace id from the request's traceparent to the webhook's, through outbox, bridge and Temporal", async () => {
		const reg = await call("POST", "/api/v1/auth/register", {
			email: `${crypto.randomUUID()}@example.com`,
			password: PASSWORD,
			displayName: "Tracer",
		});
		expect(reg.status).toBe(201);
		const token: string = reg.body.accessToken;
		const auth = { authorization: `Bearer ${token}` };
		expect(
			(await call("POST", "/api/v1/channels", { kind: "webhook", url: `${hook.url}/t` }, auth)).status,
		).toBe(201);

		const traceId = hex(16);
		const now = new Date(Date.now() - 5_000).toISOString().slice(0, 19);
		const created = await call(
			"POST",
			"/api/v1/reminders",
			{ title: "Traced", notes: BODY_MARK, dueAt: now, timeZone: "UTC" },
			{ ...auth, traceparent: `00-${traceId}-${hex(8)}-01`, cookie: "session=cookie-secret" },
		);
		expect(created.status).toBe(201);

		const webhook = await eventually(() => hook.calls[0], { what: "the webhook call", timeoutMs: 45_000 });
		const header = webhook.headers.get("traceparent");
		expect(header).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
		expect(header!.split("-")[1]).toBe(traceId);

		// The spans of the trace, from all three processes.
		const mine = await eventually(
			() => {
				const spans = otlp.spans.filter((s) => s.traceId === traceId);
				const services = new Set(spans.map((s) => s.service));
				return ["herald-api", "herald-bridge", "herald-worker"].every((s) => services.has(s)) &&
					spans.some((s) => s.name.startsWith("RunActivity:deliver")) &&
					spans.some((s) => s.name === "send webhook") && // batches may arrive out of order
					complete(spans)
					? spans
					: undefined;
			},
			{ what: "spans of api, bridge and worker in the trace", timeoutMs: 30_000 },
		);
		const names = mine.map((s) => s.name);
		if (process.env.SHOW_SPANS)
			console.log(mine.map((s) => `${s.service} ${s.name} ${s.spanId} <- ${s.parentSpanId}`).join("\n"));
		expect(names).toContain("POST /api/v1/reminders");
		expect(names).toContain("db transaction");
		expect(names).toContain("db select"); // a query on the pool (the delivery's activities)
		// The webhook's traceparent names the outbound call's own span.
		const send = mine.find((s) => s.name === "send webhook");
		expect(send?.spanId).toBe(header!.split("-")[2]);
		expect(names.some((n) => n.startsWith("redis "))).toBe(true); // the circuit breaker's calls
		expect(names.some((n) => n.startsWith("bridge signal"))).toBe(true);
		expect(names.some((n) => n.startsWith("RunActivity:"))).toBe(true);
		// The bridge's span links to the change's span (the request's transaction).
		const bridgeSpan = mine.find((s) => s.name.startsWith("bridge signal"))!;
		expect(bridgeSpan.links.some((l) => l.traceId === traceId)).toBe(true);
		// Every span but the first has its parent in the trace (no orphan in the chain).
		const ids = new Set(mine.map((s) => s.spanId));
		const api = mine.find((s) => s.name === "POST /api/v1/reminders")!;
		for (const s of mine)
			if (s !== api)
				expect({ name: s.name, parented: ids.has(s.parentSpanId ?? "") }).toEqual({
					name: s.name,
					parented: true,
				});

		// The outbox row carried the trace.
		const [row] = await db.sql<{ traceparent: string | null }[]>`
			select traceparent from outbox where table_name = 'reminders' order by id limit 1`;
		expect(row!.traceparent?.split("-")[1]).toBe(traceId);
	}, 120_000);

	test("no span and no log line carries a credential, a cookie or a request body", async () => {
		await eventually(() => otlp.bodies.length > 0);
		const logs = roles.map((r) => r.output()).join("\n");
		const exported = otlp.bodies.join("\n");
		for (const secret of [PASSWORD, BODY_MARK, "cookie-secret", "Bearer "]) {
			expect({ secret, inSpans: exported.includes(secret) }).toEqual({ secret, inSpans: false });
			expect({ secret, inLogs: logs.includes(secret) }).toEqual({ secret, inLogs: false });
		}
		expect(exported.toLowerCase()).not.toContain("authorization");
		expect(exported).not.toContain(db.url);
		// The access log line of the traced request carries its trace and span ids.
		const lines = roles[2]!
			.output()
			.split("\n")
			.filter((l) => l.startsWith("{"))
			.map((l) => JSON.parse(l) as Record<string, unknown>);
		const access = lines.find((l) => l.msg === "request" && l.path === "/api/v1/reminders");
		expect(access?.trace_id).toMatch(/^[0-9a-f]{32}$/);
		expect(access?.span_id).toMatch(/^[0-9a-f]{16}$/);
	});
});
