/**
 * /api/v1/channels: CRUD, ownership (another user's channel is 404), the
 * webhook secret shown once, and the SSRF check at registration — with no
 * allow-list, loopback, metadata, private and loopback-resolving names are 422.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { register } from "./support/tokens.ts";

let t: TestApp;

beforeAll(async () => {
	t = await startTestApp();
});

afterAll(async () => {
	await t.stop();
});

const token = async () => (await register(t)).accessToken;
const PUBLIC_URL = "https://93.184.215.14/hooks/herald?token=abc"; // a literal public address: no DNS in tests

describe("channels", () => {
	test("a webhook channel: 201 with its secret once; never again in GET, list or PATCH", async () => {
		const owner = await token();
		const created = await t.request("POST", "/api/v1/channels", {
			token: owner,
			body: { kind: "webhook", url: PUBLIC_URL, headers: { Authorization: "Bearer xyz" } },
		});
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({
			kind: "webhook",
			name: "93.184.215.14",
			enabled: true,
			verified: true,
			url: PUBLIC_URL,
			headerNames: ["Authorization"],
		});
		expect(Buffer.from(created.body.secret, "base64url")).toHaveLength(32);
		const secret = created.body.secret as string;
		const id = created.body.id as string;
		const reads = [
			await t.request("GET", `/api/v1/channels/${id}`, { token: owner }),
			await t.request("GET", "/api/v1/channels", { token: owner }),
			await t.request("PATCH", `/api/v1/channels/${id}`, { token: owner, body: { name: "Ops" } }),
		];
		for (const res of reads) {
			expect(res.status).toBe(200);
			expect(JSON.stringify(res.body)).not.toContain(secret);
			expect(JSON.stringify(res.body)).not.toContain("Bearer xyz");
		}
		expect(reads[1]!.body.items.map((c: { id: string }) => c.id)).toEqual([id]);
		expect(reads[2]!.body).toMatchObject({ name: "Ops" });
		const [row] = await t.db.sql`select secret from channels where id = ${id}`;
		expect(row!.secret).toBe(secret);
	});

	test("another user's channel is 404 for GET, PATCH, DELETE and verify; the owner keeps it", async () => {
		const owner = await token();
		const stranger = await token();
		const { body } = await t.request("POST", "/api/v1/channels", {
			token: owner,
			body: { kind: "telegram", chatId: "123456789" },
		});
		const path = `/api/v1/channels/${body.id}`;
		expect((await t.request("GET", path, { token: stranger })).status).toBe(404);
		expect((await t.request("PATCH", path, { token: stranger, body: { enabled: false } })).status).toBe(404);
		expect((await t.request("DELETE", path, { token: stranger })).status).toBe(404);
		expect(
			(await t.request("POST", `${path}/verify`, { token: stranger, body: { code: "123456" } })).status,
		).toBe(404);
		expect((await t.request("GET", "/api/v1/channels", { token: stranger })).body.items).toEqual([]);
		expect((await t.request("GET", path, { token: owner })).body).toMatchObject({
			enabled: true,
			chatId: "123456789",
		});
		expect((await t.request("DELETE", path, { token: owner })).status).toBe(204);
		expect((await t.request("GET", path, { token: owner })).status).toBe(404);
		expect((await t.request("GET", path)).status).toBe(401);
	});

	test("PATCH: enable/disable, rename, replace headers; url and headers only on webhooks", async () => {
		const owner = await token();
		const hook = await t.request("POST", "/api/v1/channels", {
			token: owner,
			body: { kind: "webhook", url: PUBLIC_URL, name: "Hook" },
		});
		const path = `/api/v1/channels/${hook.body.id}`;
		const patched = await t.request("PATCH", path, {
			token: owner,
			body: { enabled: false, headers: { "X-Team": "a", "X-Env": "b" } },
		});
		expect(patched.body).toMatchObject({ enabled: false, name: "Hook", headerNames: ["X-Env", "X-Team"] });
		const tg = await t.request("POST", "/api/v1/channels", {
			token: owner,
			body: { kind: "telegram", chatId: "@herald_news" },
		});
		const wrong = await t.request("PATCH", `/api/v1/channels/${tg.body.id}`, {
			token: owner,
			body: { url: PUBLIC_URL },
		});
		expect(wrong.status).toBe(422);
	});

	test("each kind takes its own fields: missing or foreign ones are 422", async () => {
		const owner = await token();
		const cases = [
			{ kind: "webhook" },
			{ kind: "email" },
			{ kind: "telegram" },
			{ kind: "telegram", chatId: "1", url: PUBLIC_URL },
			{ kind: "email", address: "not-an-email" },
			{ kind: "telegram", chatId: "12; drop" },
			{ kind: "webhook", url: PUBLIC_URL, headers: { "Idempotency-Key": "x" } },
			{ kind: "webhook", url: PUBLIC_URL, headers: { "X-Herald-Signature": "x" } },
			{ kind: "webhook", url: PUBLIC_URL, headers: { "bad header": "x" } },
			{ kind: "sms", chatId: "1" },
		];
		for (const body of cases) {
			const res = await t.request("POST", "/api/v1/channels", { token: owner, body });
			expect({ body, status: res.status }).toEqual({ body, status: 422 });
		}
		expect((await t.request("GET", "/api/v1/channels", { token: owner })).body.items).toEqual([]);
	});

	test("SSRF: loopback, metadata, private, link-local, loopback names and odd schemes are 422 with a reason", async () => {
		const owner = await token();
		const cases: [string, string][] = [
			["http://127.0.0.1:8080/hook", "loopback"],
			["http://[::1]/hook", "loopback"],
			["http://169.254.169.254/latest/meta-data/", "metadata"],
			["http://metadata.google.internal/computeMetadata/v1/", "metadata"],
			["http://10.1.2.3/hook", "private"],
			["http://192.168.1.10/hook", "private"],
			["http://169.254.10.10/hook", "link_local"],
			["http://localhost:3000/hook", "loopback"],
			["http://0.0.0.0/hook", "unspecified"],
			["http://[::ffff:127.0.0.1]/hook", "loopback"],
			["ftp://example.com/hook", "scheme"],
			["https://user:pw@example.com/hook", "credentials_in_url"],
		];
		for (const [url, reason] of cases) {
			const res = await t.request("POST", "/api/v1/channels", {
				token: owner,
				body: { kind: "webhook", url },
			});
			expect({ url, status: res.status, reason: res.body?.error?.details?.reason }).toEqual({
				url,
				status: 422,
				reason,
			});
		}
		const ok = await t.request("POST", "/api/v1/channels", {
			token: owner,
			body: { kind: "webhook", url: PUBLIC_URL },
		});
		const moved = await t.request("PATCH", `/api/v1/channels/${ok.body.id}`, {
			token: owner,
			body: { url: "http://169.254.169.254/" },
		});
		expect(moved.status).toBe(422);
		expect(moved.body.error.details.reason).toBe("metadata");
		expect((await t.request("GET", `/api/v1/channels/${ok.body.id}`, { token: owner })).body.url).toBe(
			PUBLIC_URL,
		);
	});

	test("at most 20 channels per user (409)", async () => {
		const owner = await token();
		for (let i = 0; i < 20; i++)
			expect(
				(
					await t.request("POST", "/api/v1/channels", {
						token: owner,
						body: { kind: "telegram", chatId: String(1000 + i) },
					})
				).status,
			).toBe(201);
		const over = await t.request("POST", "/api/v1/channels", {
			token: owner,
			body: { kind: "telegram", chatId: "99" },
		});
		expect(over.status).toBe(409);
	});

	test("the OpenAPI document lists the channel and delivery routes under their tags", async () => {
		const res = await t.app.handle(new Request("http://localhost/swagger/json"));
		const doc = (await res.json()) as { paths: Record<string, Record<string, { tags?: string[] }>> };
		expect(doc.paths["/api/v1/channels"]?.post?.tags).toEqual(["channels"]);
		expect(doc.paths["/api/v1/channels/{id}/verify"]?.post?.tags).toEqual(["channels"]);
		expect(doc.paths["/api/v1/deliveries"]?.get?.tags).toEqual(["deliveries"]);
	});
});
