/**
 * Tokens from external issuers: a JWKS provider (served locally) and
 * Supabase. Good tokens map to a Herald user by `sub`, created on first
 * sight; forgeries are 401 and create nobody; an email never links accounts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type Claims, expectRejected, jwt, me, nowSeconds, register } from "./support/tokens.ts";

/** The Herald user ids linked to this external identity (0 or 1). */
async function linkedUsers(app: TestApp, issuer: string, subject: string): Promise<string[]> {
	const rows = await app.db.sql<{ user_id: string }[]>`
		select user_id from external_identities where issuer = ${issuer} and subject = ${subject}`;
	return rows.map((r) => r.user_id);
}

describe("JWKS issuer", () => {
	const ISSUER = "https://idp.example.test/";
	const AUDIENCE = "herald-api";
	const k1 = generateKeyPairSync("rsa", { modulusLength: 2048 });
	const k2 = generateKeyPairSync("rsa", { modulusLength: 2048 });
	const publicJwk = { ...k1.publicKey.export({ format: "jwk" }), kid: "k1", alg: "RS256", use: "sig" };
	let jwks: ReturnType<typeof Bun.serve>;
	let app: TestApp;

	beforeAll(async () => {
		jwks = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => Response.json({ keys: [publicJwk] }) });
		app = await startTestApp({
			AUTH_JWKS_URL: `http://127.0.0.1:${jwks.port}/.well-known/jwks.json`,
			AUTH_JWKS_ISSUER: ISSUER,
			AUTH_JWKS_AUDIENCE: AUDIENCE,
		});
	});
	afterAll(async () => {
		await app?.stop();
		await jwks?.stop(true);
	});

	const idpToken = (claims: Claims, kid = "k1", key: KeyObject = k1.privateKey) => {
		const now = nowSeconds();
		return jwt(
			{ alg: "RS256", typ: "JWT", kid },
			{ iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...claims },
			key,
		);
	};
	const subject = () => `idp|${crypto.randomUUID()}`;

	test("a token signed by the published key k1 is accepted; its user is created on first sight, by sub", async () => {
		const sub = subject();
		const email = `${crypto.randomUUID()}@idp.example`;
		const first = await me(app, idpToken({ sub, email }));
		expect(first.status).toBe(200);
		expect(first.body).toMatchObject({ email, role: "user" });
		expect(await linkedUsers(app, ISSUER, sub)).toEqual([first.body.id]);

		const second = await me(app, idpToken({ sub, email }));
		expect(second.status).toBe(200);
		expect(second.body.id).toBe(first.body.id);

		const other = await me(app, idpToken({ sub: subject() }));
		expect(other.status).toBe(200);
		expect(other.body.id).not.toBe(first.body.id);
		expect(other.body.email).toBeNull();
	});

	const forgeries: [string, (sub: string) => string, "token_invalid" | "token_expired"][] = [
		["an unknown kid (k2, signed by k2)", (sub) => idpToken({ sub }, "k2", k2.privateKey), "token_invalid"],
		["kid k1 but signed by another key", (sub) => idpToken({ sub }, "k1", k2.privateKey), "token_invalid"],
		[
			"HS256 keyed with the published public key (alg swap)",
			(sub) =>
				jwt(
					{ alg: "HS256", typ: "JWT", kid: "k1" },
					{ iss: ISSUER, aud: AUDIENCE, sub, exp: nowSeconds() + 300 },
					k1.publicKey.export({ type: "spki", format: "pem" }).toString(),
				),
			"token_invalid",
		],
		[
			"alg none",
			(sub) =>
				jwt(
					{ alg: "none", typ: "JWT", kid: "k1" },
					{ iss: ISSUER, aud: AUDIENCE, sub, exp: nowSeconds() + 300 },
				),
			"token_invalid",
		],
		["a wrong aud", (sub) => idpToken({ sub, aud: "someone-else" }), "token_invalid"],
		["no exp", (sub) => idpToken({ sub, exp: undefined }), "token_invalid"],
		[
			"an expired token",
			(sub) => idpToken({ sub, iat: nowSeconds() - 900, exp: nowSeconds() - 60 }),
			"token_expired",
		],
	];
	for (const [name, forge, code] of forgeries)
		test(`rejects ${name}: 401 ${code}, nobody created`, async () => {
			const sub = subject();
			const token = forge(sub);
			expectRejected(await me(app, token), code, token);
			expect(await linkedUsers(app, ISSUER, sub)).toEqual([]);
		});
});

describe("Supabase issuer", () => {
	const SECRET = "supabase-secret-supabase-secret-supabase-01";
	const ISSUER = "https://abcdefghij.supabase.co/auth/v1";
	let app: TestApp;

	beforeAll(async () => {
		app = await startTestApp({ SUPABASE_JWT_SECRET: SECRET, SUPABASE_JWT_ISSUER: ISSUER });
	});
	afterAll(() => app?.stop());

	const supabaseToken = (claims: Claims, secret = SECRET) => {
		const now = nowSeconds();
		return jwt(
			{ alg: "HS256", typ: "JWT" },
			{ iss: ISSUER, aud: "authenticated", role: "authenticated", iat: now, exp: now + 300, ...claims },
			secret,
		);
	};

	test("a token from the project is accepted and mapped to a user by sub, created on first sight", async () => {
		const sub = crypto.randomUUID();
		const email = `${crypto.randomUUID()}@supa.example`;
		expect(await linkedUsers(app, ISSUER, sub)).toEqual([]);
		const first = await me(app, supabaseToken({ sub, email }));
		expect(first.status).toBe(200);
		expect(first.body).toMatchObject({ email, role: "user" });
		expect(await linkedUsers(app, ISSUER, sub)).toEqual([first.body.id]);

		const second = await me(app, supabaseToken({ sub, email }));
		expect(second.status).toBe(200);
		expect(second.body.id).toBe(first.body.id);
	});

	const forgeries: [string, (sub: string) => string][] = [
		["a wrong aud", (sub) => supabaseToken({ sub, aud: "anon" })],
		["another secret", (sub) => supabaseToken({ sub }, `${SECRET}-other`)],
		["no exp", (sub) => supabaseToken({ sub, exp: undefined })],
		[
			"alg none",
			(sub) =>
				jwt({ alg: "none", typ: "JWT" }, { iss: ISSUER, aud: "authenticated", sub, exp: nowSeconds() + 300 }),
		],
		[
			"RS256 signed with some RSA key",
			(sub) =>
				jwt(
					{ alg: "RS256", typ: "JWT" },
					{ iss: ISSUER, aud: "authenticated", sub, exp: nowSeconds() + 300 },
					generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey,
				),
		],
	];
	for (const [name, forge] of forgeries)
		test(`rejects a token with the project's iss and ${name}: 401 token_invalid, nobody created`, async () => {
			const sub = crypto.randomUUID();
			const token = forge(sub);
			expectRejected(await me(app, token), "token_invalid", token);
			expect(await linkedUsers(app, ISSUER, sub)).toEqual([]);
		});

	test("an external email equal to a Herald account's email is never linked to that account", async () => {
		const owner = await register(app, `owner-${crypto.randomUUID()}@example.com`);
		const sub = crypto.randomUUID();
		const res = await me(app, supabaseToken({ sub, email: owner.email.toUpperCase() }));
		expect(res.status).toBe(200);
		expect(res.body.id).not.toBe(owner.userId);
		expect(res.body.email).toBeNull();
		expect(await linkedUsers(app, ISSUER, sub)).toEqual([res.body.id]);

		const ownerView = await me(app, owner.accessToken);
		expect(ownerView.status).toBe(200);
		expect(ownerView.body).toMatchObject({ id: owner.userId, email: owner.email });
	});
});
