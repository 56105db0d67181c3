/** A notifications socket closes with 4401 when the access token it was opened with expires. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { decodeParts, heraldClaims, jwt, nowSeconds } from "./support/tokens.ts";

const SECRET = "expiry-secret-expiry-secret-expiry-secret-0123";
let app: TestApp;
let base: string;
beforeAll(async () => {
	app = await startTestApp({ AUTH_JWT_SECRET: SECRET });
	base = `127.0.0.1:${app.app.listen({ hostname: "127.0.0.1", port: 0 }).server!.port}`;
});
afterAll(async () => {
	await app.services.realtime.stop();
	await app.app.stop();
	await app.stop();
});

test("a socket closes with 4401 when its token expires", async () => {
	const res = await app.request("POST", "/api/v1/auth/register", {
		body: {
			email: `${crypto.randomUUID()}@example.com`,
			password: "correct horse battery staple",
			displayName: "Ada",
		},
	});
	expect(res.status).toBe(201);
	// The short-lived token is signed here, just before the socket opens, so a slow
	// registration (argon2 on a busy machine) cannot use up its lifetime first.
	const exp = nowSeconds() + 2;
	const token = jwt(
		{ alg: "HS256", typ: "JWT" },
		heraldClaims(decodeParts(res.body.accessToken).payload, { exp }),
		SECRET,
	);
	const ws = new WebSocket(`ws://${base}/ws/notifications?access_token=${token}`);
	const first = new Promise<unknown>((resolve) => {
		ws.onmessage = (e) => resolve(JSON.parse(String(e.data)));
	});
	const closed = new Promise<CloseEvent>((resolve) => {
		ws.onclose = resolve;
	});
	expect(await first).toEqual({ type: "ready" });
	const close = await closed;
	expect({ code: close.code, reason: close.reason }).toEqual({ code: 4401, reason: "token expired" });
	// JWT `exp` has whole-second precision.
	expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
});
