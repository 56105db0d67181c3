/** The webhook sender against a real receiver on 127.0.0.1 (no fetch mocks). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createWebhookSender, verifyWebhookSignature } from "../src/outbound/senders/webhook.ts";
import type { DeliveryRequest, Sender } from "../src/outbound/types.ts";
import { failure } from "./support/senders.ts";

const SECRET = "whsec_test_secret";

interface Seen {
	path: string;
	headers: Headers;
	body: string;
}

const seen: Seen[] = [];
let server: ReturnType<typeof Bun.serve>;
let base: string;
const maintenanceUntil = () => new Date(Math.ceil(Date.now() / 1000) * 1000 + 30_000).toUTCString();

function respond(path: string): Response | Promise<Response> {
	switch (path) {
		case "/ok":
			return new Response("thanks", { status: 202 });
		case "/fail500":
			return new Response("boom", { status: 500 });
		case "/missing":
			return new Response("no such hook", { status: 404 });
		case "/limited":
			return new Response("slow down", { status: 429, headers: { "retry-after": "7" } });
		case "/maintenance":
			return new Response("later", { status: 503, headers: { "retry-after": maintenanceUntil() } });
		case "/hang":
			return new Promise<Response>(() => {});
		case "/moved":
			return new Response(null, { status: 307, headers: { location: "/ok" } });
		case "/moved-twice":
			return new Response(null, { status: 308, headers: { location: `${base}/moved` } });
		case "/elsewhere":
			return new Response(null, {
				status: 302,
				headers: { location: `${base.replace("127.0.0.1", "localhost")}/ok` },
			});
		case "/loop":
			return new Response(null, { status: 307, headers: { location: "/loop" } });
		default:
			return new Response("?", { status: 400 });
	}
}

beforeAll(() => {
	server = Bun.serve({
		hostname: "127.0.0.1",
		port: 0,
		async fetch(req) {
			const path = new URL(req.url).pathname;
			seen.push({ path, headers: req.headers, body: await req.text() });
			return respond(path);
		},
	});
	base = `http://127.0.0.1:${server.port}`;
});

afterAll(() => server.stop(true));

const message = {
	notificationId: "n-1",
	userId: "u-1",
	kind: "event.reminder",
	title: "Standup in 10 minutes",
	body: "Room 4",
	data: { eventId: "e-1" },
	createdAt: "2026-01-01T00:00:00.000Z",
};

function request(path: string, extra: Partial<DeliveryRequest> & { headers?: Record<string, string> } = {}) {
	const { headers = {}, ...rest } = extra;
	return {
		deliveryId: "dlv-1",
		attempt: 1,
		idempotencyKey: "idem-dlv-1",
		target: { kind: "webhook", url: `${base}${path}`, headers, secret: SECRET },
		message,
		...rest,
	} satisfies DeliveryRequest;
}

const allowLocal = { allowPrivate: ["127.0.0.1"], connectTimeoutMs: 1_000, timeoutMs: 5_000 };

const hits = (path: string) => seen.filter((s) => s.path === path);

describe("webhook sender", () => {
	const send: Sender = createWebhookSender(allowLocal);

	test("delivers a signed body that the receiver verifies", async () => {
		seen.length = 0;
		expect(await send(request("/ok"))).toEqual({ statusCode: 202 });
		const [hit] = hits("/ok");
		expect(hit).toBeDefined();
		expect(JSON.parse(hit!.body)).toEqual({ id: "dlv-1", notification: message });
		expect(hit!.headers.get("content-type")).toBe("application/json");
		expect(hit!.headers.get("user-agent")).toBe("Herald-Webhook/1");
		expect(hit!.headers.get("x-herald-delivery")).toBe("dlv-1");
		expect(verifyWebhookSignature(SECRET, hit!.headers, hit!.body, { toleranceSeconds: 300 })).toMatchObject({
			ok: true,
		});
		expect(verifyWebhookSignature("wrong", hit!.headers, hit!.body, { toleranceSeconds: 300 })).toEqual({
			ok: false,
			reason: "bad_signature",
		});
		expect(verifyWebhookSignature(SECRET, hit!.headers, `${hit!.body} `, { toleranceSeconds: 300 })).toEqual({
			ok: false,
			reason: "bad_signature",
		});
		const later = Date.now() + 3_600_000;
		expect(
			verifyWebhookSignature(SECRET, hit!.headers, hit!.body, { toleranceSeconds: 300, now: later }),
		).toEqual({ ok: false, reason: "expired" });
		expect(verifyWebhookSignature(SECRET, new Headers(), hit!.body, { toleranceSeconds: 300 })).toEqual({
			ok: false,
			reason: "missing_header",
		});
	});

	test("every attempt carries the same idempotency key", async () => {
		seen.length = 0;
		await send(request("/ok", { attempt: 1 }));
		await send(request("/ok", { attempt: 2 }));
		const keys = hits("/ok").map((h) => h.headers.get("idempotency-key"));
		expect(keys).toEqual(["idem-dlv-1", "idem-dlv-1"]);
		expect(hits("/ok").map((h) => h.headers.get("x-herald-attempt"))).toEqual(["1", "2"]);
	});

	test("custom headers pass, but cannot override the protected ones", async () => {
		seen.length = 0;
		const headers = {
			Authorization: "Bearer receiver-token",
			"X-Custom": "yes",
			"Content-Type": "text/plain",
			"Idempotency-Key": "forged",
			"X-Herald-Signature": "v1=forged",
			"X-Herald-Timestamp": "1",
			"User-Agent": "evil",
			Host: "evil.example",
		};
		await send(request("/ok", { headers }));
		const hit = hits("/ok")[0]!;
		expect(hit.headers.get("authorization")).toBe("Bearer receiver-token");
		expect(hit.headers.get("x-custom")).toBe("yes");
		expect(hit.headers.get("content-type")).toBe("application/json");
		expect(hit.headers.get("idempotency-key")).toBe("idem-dlv-1");
		expect(hit.headers.get("user-agent")).toBe("Herald-Webhook/1");
		expect(hit.headers.get("host")).toBe(`127.0.0.1:${server.port}`);
		expect(Number(hit.headers.get("x-herald-timestamp"))).toBeGreaterThan(1_700_000_000);
		expect(verifyWebhookSignature(SECRET, hit.headers, hit.body, { toleranceSeconds: 60 }).ok).toBe(true);
	});

	test("an invalid custom header fails without retry", async () => {
		const error = await failure(send(request("/ok", { headers: { "bad header": "x" } })));
		expect([error.retryable, error.options.reason]).toEqual([false, "invalid_header"]);
	});

	test("500 is retryable, 404 is not", async () => {
		const e500 = await failure(send(request("/fail500")));
		expect([e500.retryable, e500.options.statusCode]).toEqual([true, 500]);
		const e404 = await failure(send(request("/missing")));
		expect([e404.retryable, e404.options.statusCode]).toEqual([false, 404]);
	});

	test("429 with Retry-After seconds, 503 with an HTTP date", async () => {
		const limited = await failure(send(request("/limited")));
		expect([limited.retryable, limited.options.statusCode, limited.options.retryAfterMs]).toEqual([
			true,
			429,
			7000,
		]);
		const down = await failure(send(request("/maintenance")));
		expect([down.retryable, down.options.statusCode]).toEqual([true, 503]);
		expect(down.options.retryAfterMs).toBeGreaterThan(25_000);
		expect(down.options.retryAfterMs).toBeLessThanOrEqual(31_000);
	});

	test("a receiver that never answers times out, retryably", async () => {
		const quick = createWebhookSender({ ...allowLocal, timeoutMs: 300 });
		const started = Date.now();
		const error = await failure(quick(request("/hang")));
		expect([error.retryable, error.options.reason]).toEqual([true, "timeout"]);
		expect(Date.now() - started).toBeLessThan(3_000);
	});

	test("redirects to the same host are followed (re-posting the signed body)", async () => {
		seen.length = 0;
		expect(await send(request("/moved-twice"))).toEqual({ statusCode: 202 });
		expect(seen.map((s) => s.path)).toEqual(["/moved-twice", "/moved", "/ok"]);
		const final = hits("/ok")[0]!;
		expect(final.body).toBe(seen[0]!.body);
		expect(verifyWebhookSignature(SECRET, final.headers, final.body, { toleranceSeconds: 60 }).ok).toBe(true);
	});

	test("a redirect to another host is refused; a redirect loop stops", async () => {
		seen.length = 0;
		const other = await failure(send(request("/elsewhere")));
		expect([other.retryable, other.options.reason]).toEqual([false, "redirect_to_other_host"]);
		expect(hits("/ok")).toHaveLength(0);
		const loop = await failure(send(request("/loop")));
		expect([loop.retryable, loop.options.reason]).toEqual([false, "too_many_redirects"]);
		expect(hits("/loop")).toHaveLength(4); // the request and three redirects
	});
});

describe("webhook SSRF at send time", () => {
	test("127.0.0.1 is refused without an allow list, before any request", async () => {
		seen.length = 0;
		const strict = createWebhookSender({ ...allowLocal, allowPrivate: [] });
		const error = await failure(strict(request("/ok")));
		expect([error.retryable, error.options.reason, error.options.statusCode]).toEqual([
			false,
			"destination_refused",
			undefined,
		]);
		expect(seen).toHaveLength(0);
	});

	test("allowPrivate = ['127.0.0.1'] lets it through", async () => {
		const allowed = createWebhookSender({ ...allowLocal, allowPrivate: ["127.0.0.1"] });
		expect(await allowed(request("/ok"))).toEqual({ statusCode: 202 });
	});

	test("the request goes to the checked address: a name is pinned, Host keeps the name", async () => {
		seen.length = 0;
		const pinned = createWebhookSender({
			...allowLocal,
			allowPrivate: ["hooks.example.test"],
			resolve: async () => ["127.0.0.1"],
		});
		const target = { ...request("/ok").target, url: `http://hooks.example.test:${server.port}/ok` };
		expect(await pinned({ ...request("/ok"), target })).toEqual({ statusCode: 202 });
		expect(hits("/ok")[0]!.headers.get("host")).toBe(`hooks.example.test:${server.port}`);
		const rebound = createWebhookSender({
			...allowLocal,
			allowPrivate: [],
			resolve: async () => ["127.0.0.1"],
		});
		const error = await failure(rebound({ ...request("/ok"), target }));
		expect(error.options.reason).toBe("destination_refused");
		const unresolvable = createWebhookSender({ ...allowLocal, resolve: async () => [] });
		const dns = await failure(unresolvable({ ...request("/ok"), target }));
		expect([dns.retryable, dns.options.reason]).toEqual([true, "destination_unresolvable"]);
	});

	test("a DNS lookup that hangs ends with the attempt's deadline", async () => {
		const stuck = createWebhookSender({
			...allowLocal,
			timeoutMs: 200,
			resolve: () => new Promise(() => {}),
		});
		const target = { ...request("/ok").target, url: "http://slow-dns.example.test/ok" };
		const error = await failure(stuck({ ...request("/ok"), target }));
		expect([error.retryable, error.options.reason]).toEqual([true, "timeout"]);
	});
});
