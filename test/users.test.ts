/**
 * The signed-in user's own profile (/users/me), object-level authorization
 * between users, the admin user list and the administrator bootstrap.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/infra/log.ts";
import { bootstrapAdmin } from "../src/users/admin-bootstrap.ts";
import { startTestApp, type TestApp } from "./support/app.ts";

const PASSWORD = "correct horse battery staple";
const ADMIN_EMAIL = `admin-${crypto.randomUUID()}@example.com`;
const ADMIN_PASSWORD = "admin password for tests";
const uniqueEmail = () => `${crypto.randomUUID()}@example.com`;

let app: TestApp;
function useApp(env: Record<string, string> = {}) {
	beforeAll(async () => {
		app = await startTestApp(env);
	});
	afterAll(async () => {
		await app.stop();
	});
}

interface Account {
	email: string;
	id: string;
	accessToken: string;
	refreshToken: string;
}

async function signUp(email = uniqueEmail()): Promise<Account> {
	const res = await app.request("POST", "/api/v1/auth/register", {
		body: { email, password: PASSWORD, displayName: "Ada" },
	});
	expect(res.status).toBe(201);
	return {
		email,
		id: res.body.user.id,
		accessToken: res.body.accessToken,
		refreshToken: res.body.refreshToken,
	};
}

const me = (token: string | undefined) => app.request("GET", "/api/v1/users/me", { token });
const patchMe = (token: string, body: Record<string, unknown>) =>
	app.request("PATCH", "/api/v1/users/me", { token, body });
const row = async (id: string) =>
	(await app.db.sql<Record<string, unknown>[]>`select * from users where id = ${id}`)[0];

describe("/users/me", () => {
	useApp();

	test("GET returns the caller's profile; no token is 401", async () => {
		const a = await signUp();
		const res = await me(a.accessToken);
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ id: a.id, email: a.email, displayName: "Ada", role: "user" });
		expect(res.body.timezone).toBe("UTC");
		expect(res.body.password_hash).toBeUndefined();
		expect(res.body.passwordHash).toBeUndefined();
		expect((await me(undefined)).status).toBe(401);
	});

	test("PATCH display name, time zone and locale: 200, persisted, updated_at moved by the trigger", async () => {
		const a = await signUp();
		const before = await row(a.id);
		const res = await patchMe(a.accessToken, {
			displayName: "Grace",
			timezone: "Europe/Berlin",
			locale: "de-DE",
		});
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ displayName: "Grace", timezone: "Europe/Berlin", locale: "de-DE" });
		expect(await row(a.id)).toMatchObject({
			display_name: "Grace",
			timezone: "Europe/Berlin",
			locale: "de-DE",
		});
		expect((await me(a.accessToken)).body.displayName).toBe("Grace");
		// Compared in the database, at microsecond precision: created and updated were equal at registration.
		expect(before!.updated_at).toEqual(before!.created_at);
		const [moved] = await app.db.sql<{ moved: boolean }[]>`
			select updated_at > created_at as moved from users where id = ${a.id}`;
		expect(moved!.moved).toBe(true);

		// The trigger, not the application, maintains updated_at.
		const [direct] = await app.db.sql<{ moved: boolean }[]>`
			with old as (select updated_at from users where id = ${a.id})
			update users u set display_name = 'Direct' from old where u.id = ${a.id}
			returning u.updated_at > old.updated_at as moved`;
		expect(direct!.moved).toBe(true);
	});

	test("an unknown time zone or a malformed locale is 422 and changes nothing", async () => {
		const a = await signUp();
		const before = await row(a.id);
		const zone = await patchMe(a.accessToken, { timezone: "Mars/Olympus", displayName: "Changed" });
		expect(zone.status).toBe(422);
		expect(zone.body.error.details.field).toBe("timezone");
		const locale = await patchMe(a.accessToken, { locale: "not a locale!", displayName: "Changed" });
		expect(locale.status).toBe(422);
		expect(locale.body.error.details.field).toBe("locale");
		const blank = await patchMe(a.accessToken, { displayName: "   " });
		expect(blank.status).toBe(422);
		expect(blank.body.error.details.issues.map((i: { path: string }) => i.path)).toContain("/displayName");
		expect(await row(a.id)).toEqual(before);
	});

	test("mass assignment: role and id in the body are ignored", async () => {
		const a = await signUp();
		const b = await signUp();
		const res = await patchMe(a.accessToken, { role: "admin", id: b.id, displayName: "X" });
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ id: a.id, role: "user", displayName: "X" });
		expect(await row(a.id)).toMatchObject({ id: a.id, role: "user", display_name: "X" });
		expect(await row(b.id)).toMatchObject({ id: b.id, role: "user", display_name: "Ada", email: b.email });
	});

	test("changing the email needs the right current password; a taken email is 409", async () => {
		const a = await signUp();
		const b = await signUp();
		const before = await row(a.id);
		const target = uniqueEmail();

		const missing = await patchMe(a.accessToken, { email: target });
		expect(missing.status).toBe(401);
		expect(missing.body.error.code).toBe("invalid_credentials");
		const wrong = await patchMe(a.accessToken, { email: target, currentPassword: "not the password" });
		expect(wrong.status).toBe(401);
		expect(wrong.body.error.code).toBe("invalid_credentials");
		const taken = await patchMe(a.accessToken, { email: b.email.toUpperCase(), currentPassword: PASSWORD });
		expect(taken.status).toBe(409);
		expect(taken.body.error.code).toBe("conflict");
		expect(await row(a.id)).toEqual(before);
		expect((await row(b.id))!.email).toBe(b.email);

		const ok = await patchMe(a.accessToken, { email: target, currentPassword: PASSWORD });
		expect(ok.status).toBe(200);
		expect(ok.body.email).toBe(target);
		expect((await row(a.id))!.email).toBe(target);
		const login = await app.request("POST", "/api/v1/auth/login", {
			body: { email: target, password: PASSWORD },
		});
		expect(login.status).toBe(200);
	});

	test("DELETE removes the user, its sessions and refresh tokens; its tokens stop working", async () => {
		const a = await signUp();
		const res = await app.request("DELETE", "/api/v1/users/me", { token: a.accessToken });
		expect(res.status).toBe(204);
		expect(await row(a.id)).toBeUndefined();
		const [left] = await app.db.sql<{ sessions: number; tokens: number }[]>`
			select (select count(*)::int from auth_sessions where user_id = ${a.id}) as sessions,
			       (select count(*)::int from refresh_tokens t where not exists
			          (select 1 from auth_sessions s where s.id = t.session_id)) as tokens`;
		expect(left).toEqual({ sessions: 0, tokens: 0 });
		const hash = new Bun.CryptoHasher("sha256").update(a.refreshToken).digest("hex");
		const [token] = await app.db.sql`select 1 from refresh_tokens where encode(token_hash, 'hex') = ${hash}`;
		expect(token).toBeUndefined();

		expect((await me(a.accessToken)).status).toBe(401);
		const refresh = await app.request("POST", "/api/v1/auth/refresh", {
			body: { refreshToken: a.refreshToken },
		});
		expect(refresh.status).toBe(401);
	});
});

describe("object-level authorization and the admin user list", () => {
	useApp({ ADMIN_EMAIL, ADMIN_PASSWORD });

	test("A's token only ever reads and changes A", async () => {
		const a = await signUp();
		const b = await signUp();
		const bBefore = await row(b.id);
		expect((await me(a.accessToken)).body.id).toBe(a.id);
		expect((await patchMe(a.accessToken, { displayName: "Mallory", timezone: "Asia/Tokyo" })).status).toBe(
			200,
		);
		expect(await row(b.id)).toEqual(bBefore);
		expect((await me(b.accessToken)).body.displayName).toBe("Ada");

		// No route takes another user's id.
		for (const method of ["GET", "PATCH", "DELETE"]) {
			const res = await app.request(method, `/api/v1/users/${b.id}`, {
				token: a.accessToken,
				body: method === "PATCH" ? { displayName: "Owned" } : undefined,
			});
			expect(res.status).toBe(404);
		}
		expect(await row(b.id)).toEqual(bBefore);

		expect((await app.request("DELETE", "/api/v1/users/me", { token: a.accessToken })).status).toBe(204);
		expect(await row(a.id)).toBeUndefined();
		expect(await row(b.id)).toEqual(bBefore);
		expect((await me(b.accessToken)).status).toBe(200);
	});

	test("GET /admin/users: 401 without a token, 403 for a user, 200 with every user for the admin", async () => {
		const a = await signUp();
		const b = await signUp();
		const none = await app.request("GET", "/api/v1/admin/users");
		expect(none.status).toBe(401);
		expect(none.body.items).toBeUndefined();
		const forbidden = await app.request("GET", "/api/v1/admin/users", { token: a.accessToken });
		expect(forbidden.status).toBe(403);
		expect(forbidden.body.error.code).toBe("forbidden");
		expect(forbidden.body.items).toBeUndefined();

		const admin = await app.request("POST", "/api/v1/auth/login", {
			body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
		});
		expect(admin.status).toBe(200);
		expect(admin.body.user.role).toBe("admin");
		const res = await app.request("GET", "/api/v1/admin/users", { token: admin.body.accessToken });
		expect(res.status).toBe(200);
		const ids = res.body.items.map((u: { id: string }) => u.id);
		expect(ids).toContain(a.id);
		expect(ids).toContain(b.id);
		const [count] = await app.db.sql<{ n: number }[]>`select count(*)::int as n from users`;
		expect(res.body.total).toBe(count!.n);
		expect(JSON.stringify(res.body)).not.toContain("argon2");
	});
});

describe("administrator bootstrap", () => {
	useApp();

	test("ADMIN_EMAIL of an existing user promotes it, keeps its password, and is idempotent", async () => {
		const a = await signUp();
		const before = await row(a.id);
		const config = loadConfig({
			HERALD_ENV: "test",
			AUTH_JWT_SECRET: "test-secret-test-secret-test-secret-0123456789",
			ADMIN_EMAIL: a.email.toUpperCase(),
			ADMIN_PASSWORD,
		});
		const log = createLogger("warn", {}, () => {});
		const [users] = await app.db.sql<{ n: number }[]>`select count(*)::int as n from users`;
		await bootstrapAdmin(app.db.sql, config, log);
		await bootstrapAdmin(app.db.sql, config, log);

		const after = await row(a.id);
		expect(after!.role).toBe("admin");
		expect(after!.password_hash).toBe(before!.password_hash as string);
		expect(after!.email).toBe(a.email);
		const admins = await app.db.sql<{ id: string }[]>`select id from users where role = 'admin'`;
		expect(admins.map((r) => r.id)).toEqual([a.id]);
		const [count] = await app.db.sql<{ n: number }[]>`select count(*)::int as n from users`;
		expect(count!.n).toBe(users!.n);

		const login = (password: string) =>
			app.request("POST", "/api/v1/auth/login", { body: { email: a.email, password } });
		const old = await login(PASSWORD);
		expect(old.status).toBe(200);
		expect(old.body.user.role).toBe("admin");
		expect((await login(ADMIN_PASSWORD)).status).toBe(401);
		const list = await app.request("GET", "/api/v1/admin/users", { token: old.body.accessToken });
		expect(list.status).toBe(200);
	});
});
