/**
 * Live sessions are served from memory in every API process, and a
 * revocation committed through any of them is refused by all of them on the
 * very next request: three production `api` processes share one database;
 * each answers from its cache (proved by a revocation made without the
 * invalidation trigger, which only the database sees), and logout,
 * refresh-token reuse, account deletion and a profile change made in one
 * process take effect in the others before the response comes back. A
 * listener that loses its connection falls back to the database.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort } from "../src/infra/process.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { herald, killChildren, type RoleProcess, serviceEnv } from "./support/roles.ts";
import { eventually } from "./support/wait.ts";

let db: TestDatabase;
const apis: { url: string; role: RoleProcess }[] = [];

beforeAll(async () => {
	db = await freshDatabase();
	const env = {
		...(await serviceEnv(db.url)),
		HOST: "127.0.0.1",
		AUTH_JWT_SECRET: "auth-cache-secret-0123456789-0123456789-0123",
		AUTH_LIMIT_PER_ACCOUNT: "1000",
		AUTH_LIMIT_PER_ADDRESS: "1000",
		AUTH_CACHE_HEARTBEAT_MS: "200",
		LOG_LEVEL: "info",
	};
	for (let i = 0; i < 3; i++) {
		const port = freePort();
		apis.push({ url: `http://127.0.0.1:${port}`, role: herald(["api"], { ...env, PORT: String(port) }) });
	}
	for (const api of apis)
		await eventually(async () => (await health(api.url))?.authCache?.state === "live", {
			what: "api process with a live auth cache",
			timeoutMs: 60_000,
		});
}, 90_000);

afterAll(async () => {
	for (const api of apis) api.role.child.kill("SIGTERM");
	await Promise.all(apis.map((a) => a.role.child.exited));
	killChildren();
	await db?.drop();
});

async function health(url: string): Promise<any> {
	const res = await fetch(`${url}/api/v1/health`).catch(() => undefined);
	return res ? res.json() : undefined;
}

let n = 0;
async function register(url: string): Promise<{ id: string; accessToken: string; refreshToken: string }> {
	const res = await fetch(`${url}/api/v1/auth/register`, {
		method: "POST",
		headers: { "content-type": "application/json" },
		body: JSON.stringify({
			email: `cache${++n}-${crypto.randomUUID().slice(0, 8)}@example.com`,
			password: "correct horse battery staple",
			displayName: "Cache",
		}),
	});
	expect(res.status).toBe(201);
	const body = (await res.json()) as any;
	return { id: body.user.id, accessToken: body.accessToken, refreshToken: body.refreshToken };
}

const me = (url: string, token: string) =>
	fetch(`${url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });

async function statusEverywhere(token: string): Promise<number[]> {
	return Promise.all(apis.map(async (a) => (await me(a.url, token)).status));
}

/** Every process has seen the token once: it is in each cache now. */
async function warm(token: string): Promise<void> {
	expect(await statusEverywhere(token)).toEqual([200, 200, 200]);
}

describe("auth cache across API processes", () => {
	test("checks are answered from memory: a revocation the database alone knows about is not seen", async () => {
		const user = await register(apis[0]!.url);
		await warm(user.accessToken);
		// Without the trigger's NOTIFY nobody is told: the caches keep answering (no database read).
		await db.sql.begin(async (tx) => {
			await tx`set local session_replication_role = replica`;
			await tx`update auth_sessions set revoked_at = now() where user_id = ${user.id}`;
		});
		expect(await statusEverywhere(user.accessToken)).toEqual([200, 200, 200]);
		// The same revocation with its trigger reaches every process.
		await db.sql`update auth_sessions set revoked_at = null where user_id = ${user.id}`;
		await db.sql`update auth_sessions set revoked_at = now() where user_id = ${user.id}`;
		await eventually(async () => (await statusEverywhere(user.accessToken)).every((s) => s === 401), {
			what: "trigger invalidation",
		});
	});

	test("logout in one process is refused by every process on the next request", async () => {
		for (let round = 0; round < 5; round++) {
			const user = await register(apis[round % 3]!.url);
			await warm(user.accessToken);
			const out = await fetch(`${apis[round % 3]!.url}/api/v1/auth/logout`, {
				method: "POST",
				headers: { authorization: `Bearer ${user.accessToken}` },
			});
			expect(out.status).toBe(204);
			expect(await statusEverywhere(user.accessToken)).toEqual([401, 401, 401]);
		}
	});

	test("refresh-token reuse revokes the family everywhere before the 401 comes back", async () => {
		const user = await register(apis[0]!.url);
		const rotate = (url: string, refreshToken: string) =>
			fetch(`${url}/api/v1/auth/refresh`, {
				method: "POST",
				headers: { "content-type": "application/json" },
				body: JSON.stringify({ refreshToken }),
			});
		const rotated = await rotate(apis[1]!.url, user.refreshToken);
		expect(rotated.status).toBe(200);
		const fresh = ((await rotated.json()) as any).accessToken as string;
		await warm(fresh);
		await warm(user.accessToken);
		const reuse = await rotate(apis[2]!.url, user.refreshToken);
		expect(reuse.status).toBe(401);
		expect(await statusEverywhere(fresh)).toEqual([401, 401, 401]);
		expect(await statusEverywhere(user.accessToken)).toEqual([401, 401, 401]);
	});

	test("account deletion and profile changes are seen by every process at once", async () => {
		const user = await register(apis[0]!.url);
		await warm(user.accessToken);
		const patch = await fetch(`${apis[1]!.url}/api/v1/users/me`, {
			method: "PATCH",
			headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
			body: JSON.stringify({ displayName: "Renamed" }),
		});
		expect(patch.status).toBe(200);
		for (const api of apis) {
			const res = await me(api.url, user.accessToken);
			expect(((await res.json()) as any).displayName).toBe("Renamed");
		}
		const del = await fetch(`${apis[2]!.url}/api/v1/users/me`, {
			method: "DELETE",
			headers: { authorization: `Bearer ${user.accessToken}` },
		});
		expect(del.status).toBe(204);
		expect(await statusEverywhere(user.accessToken)).toEqual([401, 401, 401]);
	});

	test("a listener that loses its connection drops its cache and checks the database until it is back", async () => {
		const user = await register(apis[0]!.url);
		await warm(user.accessToken);
		const before = apis.map((a) => a.role.output().split("auth cache degraded").length);
		await db.sql`select pg_terminate_backend(pid) from pg_stat_activity
			where application_name = 'herald-auth-cache' and datname = current_database()`;
		await eventually(
			() => apis.every((a, i) => a.role.output().split("auth cache degraded").length > before[i]!),
			{ what: "every process noticing its listener is gone" },
		);
		// Made while the caches may be reconnecting, without a NOTIFY: only the database knows.
		await db.sql.begin(async (tx) => {
			await tx`set local session_replication_role = replica`;
			await tx`update auth_sessions set revoked_at = now() where user_id = ${user.id}`;
		});
		expect(await statusEverywhere(user.accessToken)).toEqual([401, 401, 401]);
		for (const api of apis)
			await eventually(async () => (await health(api.url)).authCache.state === "live", {
				what: "listener back",
			});
		// Live again, and serving from memory again.
		const other = await register(apis[1]!.url);
		await warm(other.accessToken);
		expect(apis.every((a) => a.role.child.exitCode === null)).toBe(true);
	});
});
