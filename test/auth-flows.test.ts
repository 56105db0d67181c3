/**
 * Register, login, refresh rotation, expiry and logout through the full app:
 * what is answered, and what is (and is not) written to the database.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { authFeature } from "../src/auth/feature.ts";
import { startTestApp, type TestApp } from "./support/app.ts";

const PASSWORD = "correct horse battery staple";
const uniqueEmail = () => `${crypto.randomUUID()}@example.com`;
const sha256 = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex");

/** Each describe gets its own app (fresh database); the helpers below use the current one. */
let app: TestApp;
function useApp() {
	beforeAll(async () => {
		app = await startTestApp();
	});
	afterAll(async () => {
		await app.stop();
	});
}

const register = (body: Record<string, unknown>) => app.request("POST", "/api/v1/auth/register", { body });
const login = (email: string, password: string) =>
	app.request("POST", "/api/v1/auth/login", { body: { email, password } });
const refresh = (refreshToken: string) =>
	app.request("POST", "/api/v1/auth/refresh", { body: { refreshToken } });
const userCount = async () => (await app.db.sql<{ n: number }[]>`select count(*)::int as n from users`)[0]!.n;

async function signUp(email = uniqueEmail()) {
	const res = await register({ email, password: PASSWORD, displayName: "Ada" });
	expect(res.status).toBe(201);
	return { email, ...(res.body as { user: { id: string }; accessToken: string; refreshToken: string }) };
}

async function sessionOf(userId: string): Promise<string> {
	const rows = await app.db.sql<{ id: string }[]>`select id from auth_sessions where user_id = ${userId}`;
	expect(rows).toHaveLength(1);
	return rows[0]!.id;
}

describe("register", () => {
	useApp();

	test("201 with the user (role user) and a token pair; argon2id hash; refresh token stored hashed", async () => {
		const email = uniqueEmail();
		const res = await register({ email, password: PASSWORD, displayName: "  Ada Lovelace " });
		expect(res.status).toBe(201);
		expect(res.body.user).toMatchObject({ email, displayName: "Ada Lovelace", role: "user" });
		expect(res.body.tokenType).toBe("Bearer");
		expect(res.body.accessToken).toBeString();
		expect(res.body.refreshToken).toBeString();
		expect(Date.parse(res.body.refreshTokenExpiresAt)).toBeGreaterThan(Date.now());

		const [user] = await app.db.sql<{ role: string; password_hash: string }[]>`
			select role, password_hash from users where id = ${res.body.user.id}`;
		expect(user!.role).toBe("user");
		expect(user!.password_hash).toStartWith("$argon2id$");
		expect(user!.password_hash).not.toContain(PASSWORD);

		const raw: string = res.body.refreshToken;
		const rows = await app.db.sql<{ row: string; hash: string }[]>`
			select t::text as row, encode(t.token_hash, 'hex') as hash
			from refresh_tokens t join auth_sessions s on s.id = t.session_id
			where s.user_id = ${res.body.user.id}`;
		expect(rows).toHaveLength(1);
		expect(rows[0]!.hash).toBe(sha256(raw));
		const all = (await app.db.sql<{ row: string }[]>`select t::text as row from refresh_tokens t`).map(
			(r) => r.row,
		);
		for (const row of all) {
			expect(row).not.toContain(raw);
			expect(row).not.toContain(Buffer.from(raw).toString("hex"));
			expect(row).not.toContain(Buffer.from(raw, "base64url").toString("hex"));
		}
	});

	test("a duplicate email, in any case, is 409 conflict and writes nothing", async () => {
		const { email } = await signUp();
		const before = await userCount();
		const res = await register({ email: email.toUpperCase(), password: PASSWORD, displayName: "Eve" });
		expect(res.status).toBe(409);
		expect(res.body.error.code).toBe("conflict");
		expect(await userCount()).toBe(before);
	});

	test("password policy and validation failures are 422 and write nothing", async () => {
		const before = await userCount();
		const email = uniqueEmail();
		const short = await register({ email, password: "123456789", displayName: "Ada" });
		expect(short.status).toBe(422);
		// The minimum length is in the schema (documented), so it is a validation failure on the field.
		expect(short.body.error.code).toBe("validation_failed");
		expect(short.body.error.details.issues[0].path).toBe("/password");

		const same = await register({ email, password: email.toUpperCase(), displayName: "Ada" });
		expect(same.status).toBe(422);
		expect(same.body.error.details.reason).toBe("equals_email");

		const badEmail = await register({ email: "not-an-email", password: PASSWORD, displayName: "Ada" });
		expect(badEmail.status).toBe(422);
		expect(badEmail.body.error.code).toBe("validation_failed");
		expect(badEmail.body.error.details.issues.map((i: { path: string }) => i.path)).toContain("/email");

		const noName = await register({ email, password: PASSWORD });
		expect(noName.status).toBe(422);
		expect(noName.body.error.code).toBe("validation_failed");

		expect(await userCount()).toBe(before);
		const [found] = await app.db.sql`select 1 from users where lower(email) = lower(${email})`;
		expect(found).toBeUndefined();
	});
});

describe("login", () => {
	useApp();

	test("the right password gives a working token pair; email is case-insensitive", async () => {
		const { email, user } = await signUp();
		for (const variant of [email, email.toUpperCase()]) {
			const res = await login(variant, PASSWORD);
			expect(res.status).toBe(200);
			expect(res.body.user.id).toBe(user.id);
			const me = await app.request("GET", "/api/v1/users/me", { token: res.body.accessToken });
			expect(me.status).toBe(200);
			expect(me.body.id).toBe(user.id);
		}
	});

	test("wrong password and unknown email are the same 401 invalid_credentials", async () => {
		const { email } = await signUp();
		const wrong = await login(email, "not the password at all");
		const unknown = await login(uniqueEmail(), "not the password at all");
		expect(wrong.status).toBe(401);
		expect(unknown.status).toBe(401);
		expect(wrong.body.error.code).toBe("invalid_credentials");
		const { requestId: _a, ...wrongError } = wrong.body.error;
		const { requestId: _b, ...unknownError } = unknown.body.error;
		expect(unknownError).toEqual(wrongError);
		expect(Object.keys(unknown.body)).toEqual(Object.keys(wrong.body));
		expect(unknown.headers.get("www-authenticate")).toBe(wrong.headers.get("www-authenticate"));
		expect(wrong.body.accessToken).toBeUndefined();
	});

	test("unknown email costs about as much as a wrong password (argon2 either way)", async () => {
		const { email } = await signUp();
		const time = async (who: string) => {
			const started = performance.now();
			const res = await login(who, "not the password at all");
			expect(res.status).toBe(401);
			return performance.now() - started;
		};
		await time(email);
		await time(uniqueEmail());
		const wrong: number[] = [];
		const unknown: number[] = [];
		for (let i = 0; i < 5; i++) {
			wrong.push(await time(email));
			unknown.push(await time(uniqueEmail()));
		}
		const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
		const [w, u] = [median(wrong), median(unknown)];
		expect(Math.max(w, u) / Math.min(w, u)).toBeLessThan(3);
	});
});

describe("refresh and logout", () => {
	useApp();

	test("rotation gives a new pair, marks the old token used, and the new access token works", async () => {
		const first = await signUp();
		const res = await refresh(first.refreshToken);
		expect(res.status).toBe(200);
		expect(res.body.refreshToken).not.toBe(first.refreshToken);
		expect(res.body.accessToken).not.toBe(first.accessToken);

		const used = async (token: string) => {
			const [row] = await app.db.sql<{ used_at: Date | null }[]>`
				select used_at from refresh_tokens where encode(token_hash, 'hex') = ${sha256(token)}`;
			expect(row).toBeDefined();
			return row!.used_at;
		};
		expect(await used(first.refreshToken)).toBeInstanceOf(Date);
		expect(await used(res.body.refreshToken)).toBeNull();

		const me = await app.request("GET", "/api/v1/users/me", { token: res.body.accessToken });
		expect(me.status).toBe(200);
		expect(me.body.id).toBe(first.user.id);
	});

	test("presenting a used refresh token again is 401 and revokes the session", async () => {
		const first = await signUp();
		const second = await refresh(first.refreshToken);
		expect(second.status).toBe(200);
		const replay = await refresh(first.refreshToken);
		expect(replay.status).toBe(401);
		expect(replay.body.error.code).toBe("token_invalid");
		expect((await refresh(second.body.refreshToken)).status).toBe(401);
		const me = await app.request("GET", "/api/v1/users/me", { token: second.body.accessToken });
		expect(me.status).toBe(401);
	});

	test("an expired refresh token is 401 token_expired", async () => {
		const { user, refreshToken } = await signUp();
		const session = await sessionOf(user.id);
		const updated = await app.db.sql`
			update refresh_tokens set expires_at = now() - interval '1 minute' where session_id = ${session}`;
		expect(updated.count).toBe(1);
		const res = await refresh(refreshToken);
		expect(res.status).toBe(401);
		expect(res.body.error.code).toBe("token_expired");
		expect(res.body.accessToken).toBeUndefined();
	});

	test("logout is 204 and ends the session: its refresh and access tokens stop working", async () => {
		const { email, accessToken, refreshToken } = await signUp();
		const other = await login(email, PASSWORD);
		expect(other.status).toBe(200);

		const res = await app.request("POST", "/api/v1/auth/logout", { token: accessToken });
		expect(res.status).toBe(204);
		const after = await refresh(refreshToken);
		expect(after.status).toBe(401);
		expect(after.body.error.code).toBe("token_invalid");
		expect((await app.request("GET", "/api/v1/users/me", { token: accessToken })).status).toBe(401);

		// Only that session: the other login keeps working.
		expect((await app.request("GET", "/api/v1/users/me", { token: other.body.accessToken })).status).toBe(
			200,
		);
		expect((await refresh(other.body.refreshToken)).status).toBe(200);
	});

	test("logout without a token is 401", async () => {
		const res = await app.request("POST", "/api/v1/auth/logout");
		expect(res.status).toBe(401);
		expect(res.body.error.code).toBe("token_missing");
	});
});

describe("daily cleanup of tokens and sessions", () => {
	useApp();

	test("expired refresh tokens and ended sessions are deleted; live ones stay and keep working", async () => {
		const live = await signUp();
		const liveSession = await sessionOf(live.user.id);
		const sql = app.db.sql;
		const [u] = await sql<{ id: string }[]>`
			insert into users (email, display_name) values (${uniqueEmail()}, 'Old') returning id`;
		const session = async (created: string, revoked: string | null) => {
			const [row] = await sql<{ id: string }[]>`
				insert into auth_sessions (user_id, created_at, revoked_at)
				values (${u!.id}, now() - ${created}::interval, now() - ${revoked}::interval) returning id`;
			return row!.id;
		};
		const token = async (sessionId: string, expiresIn: string) => {
			const hash = crypto.getRandomValues(new Uint8Array(32));
			await sql`insert into refresh_tokens (token_hash, session_id, expires_at)
				values (${Buffer.from(hash)}, ${sessionId}, now() + ${expiresIn}::interval)`;
			return Buffer.from(hash).toString("hex");
		};
		const revokedLongAgo = await session("40 days", "31 days");
		const revokedRecently = await session("3 days", "1 day");
		const oldWithExpiredToken = await session("20 days", null);
		const oldWithoutTokens = await session("2 days", null);
		const freshWithoutTokens = await session("1 minute", null);
		const liveOld = await session("20 days", null);

		const expiredOnLive = await token(liveSession, "-1 minute");
		const onRevokedLongAgo = await token(revokedLongAgo, "10 days");
		const onRevokedRecently = await token(revokedRecently, "10 days");
		const expiredOnOld = await token(oldWithExpiredToken, "-5 days");
		const liveOnOld = await token(liveOld, "5 days");

		const tokens = async () =>
			(await sql<{ h: string }[]>`select encode(token_hash, 'hex') as h from refresh_tokens`).map((r) => r.h);
		const sessions = async () => (await sql<{ id: string }[]>`select id from auth_sessions`).map((r) => r.id);

		expect(await authFeature.cleanup["expired-refresh-tokens"](sql)).toBe(2);
		const leftTokens = await tokens();
		expect(leftTokens).not.toContain(expiredOnLive);
		expect(leftTokens).not.toContain(expiredOnOld);
		expect(leftTokens).toEqual(
			expect.arrayContaining([sha256(live.refreshToken), onRevokedLongAgo, onRevokedRecently, liveOnOld]),
		);
		expect(leftTokens).toHaveLength(4);

		expect(await authFeature.cleanup["ended-sessions"](sql)).toBe(3);
		const leftSessions = await sessions();
		for (const gone of [revokedLongAgo, oldWithExpiredToken, oldWithoutTokens])
			expect(leftSessions).not.toContain(gone);
		expect(leftSessions.sort()).toEqual([liveSession, revokedRecently, freshWithoutTokens, liveOld].sort());
		expect(await tokens()).not.toContain(onRevokedLongAgo);

		// Running again finds nothing; the live login still rotates.
		expect(await authFeature.cleanup["expired-refresh-tokens"](sql)).toBe(0);
		expect(await authFeature.cleanup["ended-sessions"](sql)).toBe(0);
		expect((await refresh(live.refreshToken)).status).toBe(200);
	});
});
