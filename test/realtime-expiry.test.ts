/** A notifications socket closes with 4401 when the access token it was opened with expires. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";

let app: TestApp;
let base: string;
beforeAll(async () => {
	app = await startTestApp({ ACCESS_TOKEN_TTL_SECONDS: "2" });
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
	const expiresAt = Date.parse(res.body.accessTokenExpiresAt);
	const ws = new WebSocket(`ws://${base}/ws/notifications?access_token=${res.body.accessToken}`);
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
	expect(Date.now()).toBeGreaterThanOrEqual(Math.floor(expiresAt / 1000) * 1000);
});
