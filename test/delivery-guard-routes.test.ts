/**
 * Admin routes over the destination guard, through the full app:
 * GET /api/v1/circuits and POST /api/v1/circuits/:key/reset.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DeliveryFailed } from "../src/outbound/types.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type Registered, register } from "./support/tokens.ts";

const ADMIN_EMAIL = `admin-${crypto.randomUUID()}@example.com`;
const ADMIN_PASSWORD = "correct horse battery staple";

let app: TestApp;
let admin: string;
let user: Registered;

beforeAll(async () => {
	app = await startTestApp({ ADMIN_EMAIL, ADMIN_PASSWORD, BREAKER_FAILURES: "2", BREAKER_OPEN_MS: "60000" });
	const login = await app.request("POST", "/api/v1/auth/login", {
		body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
	});
	expect(login.status).toBe(200);
	admin = login.body.accessToken;
	user = await register(app);
});

const created: string[] = [];
afterAll(async () => {
	await Promise.all(created.map((key) => app.services.guard.reset(key)));
	await app.stop();
});

/** Two 503s in a row (BREAKER_FAILURES=2) through the app's own guard. */
async function trip(key: string): Promise<void> {
	created.push(key);
	for (let i = 0; i < 2; i++)
		await app.services.guard
			.run(key, () => Promise.reject(new DeliveryFailed("503", true, { statusCode: 503 })))
			.catch(() => {});
}

const resetPath = (key: string) => `/api/v1/circuits/${encodeURIComponent(key)}/reset`;

describe("GET /api/v1/circuits", () => {
	test("401 without a token, 403 for a user, the tripped circuit as open for the admin", async () => {
		const key = `webhook:admin-${crypto.randomUUID().slice(0, 8)}.example:8443`;
		const healthy = `smtp:admin-${crypto.randomUUID().slice(0, 8)}:25`;
		await trip(key);
		created.push(healthy);
		await app.services.guard.run(healthy, async () => "sent");

		const none = await app.request("GET", "/api/v1/circuits");
		expect(none.status).toBe(401);
		expect(none.body.items).toBeUndefined();
		const forbidden = await app.request("GET", "/api/v1/circuits", { token: user.accessToken });
		expect(forbidden.status).toBe(403);
		expect(forbidden.body.error.code).toBe("forbidden");

		const res = await app.request("GET", "/api/v1/circuits", { token: admin });
		expect(res.status).toBe(200);
		const open = res.body.items.find((c: { key: string }) => c.key === key);
		expect(open).toMatchObject({ key, state: "open" });
		expect(open.retryAfterMs).toBeGreaterThan(50_000);
		expect(open.retryAfterMs).toBeLessThanOrEqual(60_000);
		expect(res.body.items.find((c: { key: string }) => c.key === healthy)).toEqual({
			key: healthy,
			state: "closed",
			failures: 0,
		});
	});
});

describe("POST /api/v1/circuits/:key/reset", () => {
	test("closes the circuit (200), then 404; 401 without a token, 403 for a user", async () => {
		const key = `webhook:reset-${crypto.randomUUID().slice(0, 8)}.example`;
		await trip(key);

		expect((await app.request("POST", resetPath(key))).status).toBe(401);
		const forbidden = await app.request("POST", resetPath(key), { token: user.accessToken });
		expect(forbidden.status).toBe(403);
		expect((await app.services.guard.list()).find((c) => c.key === key)?.state).toBe("open");

		const res = await app.request("POST", resetPath(key), { token: admin });
		expect(res.status).toBe(200);
		expect(res.body).toEqual({ key, reset: true });
		const after = await app.request("GET", "/api/v1/circuits", { token: admin });
		expect(after.body.items.find((c: { key: string }) => c.key === key)).toBeUndefined();
		expect(await app.services.guard.run(key, async () => "delivered")).toBe("delivered");

		await app.services.guard.reset(key);
		const again = await app.request("POST", resetPath(key), { token: admin });
		expect(again.status).toBe(404);
		expect(again.body.error.code).toBe("not_found");
	});

	test("documented in the OpenAPI document under the admin tag", async () => {
		const doc = await app.request("GET", "/swagger/json");
		expect(doc.status).toBe(200);
		const list = doc.body.paths["/api/v1/circuits"]?.get;
		const reset = doc.body.paths["/api/v1/circuits/{key}/reset"]?.post;
		expect(list?.tags).toEqual(["admin"]);
		expect(reset?.tags).toEqual(["admin"]);
		expect(list?.summary).toBeString();
		expect(reset?.summary).toBeString();
		expect(Object.keys(reset?.responses ?? {})).toEqual(expect.arrayContaining(["200", "401", "403", "404"]));
	});
});
