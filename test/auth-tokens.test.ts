/**
 * The negative token matrix for Herald's own access tokens: every forgery,
 * stale or malformed credential is a 401 with the right code and never
 * echoed back. External issuers (JWKS, Supabase) are in auth-external.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { createTokenIssuer } from "../src/auth/tokens.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import {
	b64url,
	type Claims,
	decodeParts,
	expectRejected,
	heraldClaims,
	jwt,
	me,
	nowSeconds,
	type Registered,
	refresh,
	register,
	tamperPayload,
	tamperSignature,
} from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

const SECRET = "matrix-secret-matrix-secret-matrix-secret-0123";
const hs256 = (claims: Claims, secret: string | Uint8Array = SECRET) =>
	jwt({ alg: "HS256", typ: "JWT" }, claims, secret);

describe("Herald HS256 access tokens", () => {
	let app: TestApp;
	let alice: Registered;
	const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });

	beforeAll(async () => {
		app = await startTestApp({ AUTH_JWT_SECRET: SECRET });
		alice = await register(app);
	});
	afterAll(() => app?.stop());

	test("control: the access token from /auth/register opens /users/me", async () => {
		const res = await me(app, alice.accessToken);
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ id: alice.userId, email: alice.email, role: "user" });
		expect(decodeParts(alice.accessToken).header).toEqual({ alg: "HS256", typ: "JWT" });
	});

	test("control: a hand-signed token with the configured secret and Herald's claims is accepted", async () => {
		// The forgeries below differ from this token in one respect each.
		const res = await me(app, hs256(heraldClaims(alice.claims)));
		expect(res.status).toBe(200);
		expect(res.body.id).toBe(alice.userId);
	});

	test("/.well-known/jwks.json publishes no key (the HMAC secret stays private)", async () => {
		const res = await app.request("GET", "/.well-known/jwks.json");
		expect(res.status).toBe(200);
		expect(res.body).toEqual({ keys: [] });
	});

	const forgeries: [string, (u: Registered) => string][] = [
		[
			"alg none with valid claims and no signature",
			(u) => jwt({ alg: "none", typ: "JWT" }, heraldClaims(u.claims)),
		],
		[
			"alg none over a real token's payload and signature",
			(u) =>
				[b64url(JSON.stringify({ alg: "none", typ: "JWT" })), ...u.accessToken.split(".").slice(1)].join("."),
		],
		["a tampered signature", (u) => tamperSignature(u.accessToken)],
		[
			"a tampered payload (role → admin, old signature)",
			(u) => tamperPayload(u.accessToken, { role: "admin" }),
		],
		["HS256 signed with another secret", (u) => hs256(heraldClaims(u.claims), `${SECRET}-not`)],
		[
			"RS256 signed with an RSA key (HS → RS swap)",
			(u) => jwt({ alg: "RS256", typ: "JWT" }, heraldClaims(u.claims), rsa.privateKey),
		],
		[
			"RS256 carrying its own public key in the header (embedded jwk)",
			(u) =>
				jwt(
					{ alg: "RS256", typ: "JWT", jwk: rsa.publicKey.export({ format: "jwk" }) },
					heraldClaims(u.claims),
					rsa.privateKey,
				),
		],
		["nbf one hour in the future", (u) => hs256(heraldClaims(u.claims, { nbf: nowSeconds() + 3600 }))],
		["a wrong iss", (u) => hs256(heraldClaims(u.claims, { iss: "https://evil.example" }))],
		["a wrong aud", (u) => hs256(heraldClaims(u.claims, { aud: "someone-else" }))],
		["no exp", (u) => hs256(heraldClaims(u.claims, { exp: undefined }))],
		["a sid that is no session", (u) => hs256(heraldClaims(u.claims, { sid: crypto.randomUUID() }))],
	];
	for (const [name, forge] of forgeries)
		test(`rejects ${name}: 401 token_invalid`, async () => {
			const token = forge(alice);
			expectRejected(await me(app, token), "token_invalid", token);
		});

	// A token signed with Herald's own key but with claims Herald never issues
	// (e.g. from another service sharing AUTH_JWT_SECRET) is still just invalid.
	const malformed: [string, Claims][] = [
		["sub that is not a UUID", { sub: "not-a-uuid" }],
		["sid that is not a UUID", { sid: "not-a-uuid" }],
		["numeric sub", { sub: 5 }],
		["role outside user/admin", { role: "root" }],
	];
	for (const [name, overrides] of malformed)
		test(`rejects a correctly signed token with a ${name}: 401 token_invalid (not 500)`, async () => {
			const token = hs256(heraldClaims(alice.claims, overrides));
			expectRejected(await me(app, token), "token_invalid", token);
		});

	describe("expiry", () => {
		test("exp beyond the clock tolerance is token_expired", async () => {
			const now = nowSeconds();
			const token = hs256(heraldClaims(alice.claims, { iat: now - 900, exp: now - 60 }));
			expectRejected(await me(app, token), "token_expired", token);
		});

		test("exp within the 5 s clock tolerance still passes", async () => {
			const now = nowSeconds();
			const res = await me(app, hs256(heraldClaims(alice.claims, { iat: now - 900, exp: now - 2 })));
			expect(res.status).toBe(200);
			expect(res.body.id).toBe(alice.userId);
		});

		test("an expired token with a bad signature is token_invalid, not token_expired", async () => {
			const now = nowSeconds();
			const token = tamperSignature(hs256(heraldClaims(alice.claims, { iat: now - 900, exp: now - 60 })));
			expectRejected(await me(app, token), "token_invalid", token);
		});
	});

	describe("Authorization header variants", () => {
		const call = (authorization?: string) =>
			app.request("GET", "/api/v1/users/me", { headers: authorization ? { authorization } : {} });

		test("missing header → token_missing", async () => {
			expectRejected(await call(), "token_missing");
		});
		test('"Basic …" → token_missing', async () => {
			expectRejected(
				await call("Basic dXNlcjpjb3JyZWN0IGhvcnNl"),
				"token_missing",
				"dXNlcjpjb3JyZWN0IGhvcnNl",
			);
		});
		test('"Bearer " with nothing after it → token_missing', async () => {
			expectRejected(await call("Bearer "), "token_missing");
		});
		test('"Bearer not.a.jwt" → token_invalid', async () => {
			expectRejected(await call("Bearer not.a.jwt"), "token_invalid", "not.a.jwt");
		});
	});

	describe("sessions", () => {
		test("a deleted user's access and refresh tokens stop working", async () => {
			const bob = await register(app);
			expect((await me(app, bob.accessToken)).status).toBe(200);
			expect((await app.request("DELETE", "/api/v1/users/me", { token: bob.accessToken })).status).toBe(204);
			expectRejected(await me(app, bob.accessToken), "token_invalid", bob.accessToken);
			expectRejected(await refresh(app, bob.refreshToken), "token_invalid", bob.refreshToken);
		});

		test("after logout the access token and the refresh token are rejected", async () => {
			const carol = await register(app);
			expect((await me(app, carol.accessToken)).status).toBe(200);
			expect((await app.request("POST", "/api/v1/auth/logout", { token: carol.accessToken })).status).toBe(
				204,
			);
			expectRejected(await me(app, carol.accessToken), "token_invalid", carol.accessToken);
			expectRejected(await refresh(app, carol.refreshToken), "token_invalid", carol.refreshToken);
		});

		test("presenting a used refresh token revokes the whole family", async () => {
			const dave = await register(app);
			const rotated = await refresh(app, dave.refreshToken);
			expect(rotated.status).toBe(200);
			const next = {
				access: rotated.body.accessToken as string,
				refresh: rotated.body.refreshToken as string,
			};
			expect(next.refresh).not.toBe(dave.refreshToken);
			expect((await me(app, next.access)).status).toBe(200);

			expectRejected(await refresh(app, dave.refreshToken), "token_invalid", dave.refreshToken);
			expectRejected(await me(app, next.access), "token_invalid", next.access);
			expectRejected(await refresh(app, next.refresh), "token_invalid", next.refresh);
			expectRejected(await me(app, dave.accessToken), "token_invalid", dave.accessToken);
			// Other sessions are untouched.
			expect((await me(app, alice.accessToken)).status).toBe(200);
		});
	});
});

describe("Herald EdDSA access tokens", () => {
	const keys = generateKeyPairSync("ed25519");
	const publicJwk = keys.publicKey.export({ format: "jwk" });
	const publicPem = keys.publicKey.export({ type: "spki", format: "pem" }).toString();
	let app: TestApp;
	let erin: Registered;

	beforeAll(async () => {
		app = await startTestApp({
			AUTH_JWT_SECRET: "", // unset: the private key alone decides
			AUTH_JWT_PRIVATE_KEY: keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
		});
		erin = await register(app);
	});
	afterAll(() => app?.stop());

	test("control: register issues an EdDSA token that opens /users/me", async () => {
		expect(decodeParts(erin.accessToken).header).toEqual({ alg: "EdDSA", kid: "herald-ed25519", typ: "JWT" });
		const res = await me(app, erin.accessToken);
		expect(res.status).toBe(200);
		expect(res.body.id).toBe(erin.userId);
	});

	test("/.well-known/jwks.json exposes exactly the public key", async () => {
		const res = await app.request("GET", "/.well-known/jwks.json");
		expect(res.status).toBe(200);
		expect(res.body).toEqual({
			keys: [{ kty: "OKP", crv: "Ed25519", x: publicJwk.x, kid: "herald-ed25519", alg: "EdDSA", use: "sig" }],
		});
		expect(res.body.keys[0]).not.toHaveProperty("d");
		// And it really is the signing key's public half.
		expect(createPublicKey({ key: res.body.keys[0], format: "jwk" }).equals(keys.publicKey)).toBe(true);
	});

	const hmacSecrets: [string, string | Uint8Array][] = [
		["the public key's PEM text", publicPem],
		["the public key's raw bytes (JWK x)", Buffer.from(publicJwk.x!, "base64url")],
		["the JWK x string", publicJwk.x!],
		["the public JWK as JSON", JSON.stringify(publicJwk)],
	];
	for (const [name, secret] of hmacSecrets)
		test(`rejects HS256 keyed with ${name} (alg swap): 401 token_invalid`, async () => {
			const token = jwt(
				{ alg: "HS256", kid: "herald-ed25519", typ: "JWT" },
				heraldClaims(erin.claims),
				secret,
			);
			expectRejected(await me(app, token), "token_invalid", token);
		});

	test("rejects EdDSA signed by another Ed25519 key with Herald's kid", async () => {
		const other = generateKeyPairSync("ed25519");
		const token = jwt(
			{ alg: "EdDSA", kid: "herald-ed25519", typ: "JWT" },
			heraldClaims(erin.claims),
			other.privateKey,
		);
		expectRejected(await me(app, token), "token_invalid", token);
	});

	test("control: the same claims signed with the configured key by hand are accepted", async () => {
		const token = jwt(
			{ alg: "EdDSA", kid: "herald-ed25519", typ: "JWT" },
			heraldClaims(erin.claims),
			keys.privateKey,
		);
		expect((await me(app, token)).status).toBe(200);
	});
});

describe("verified tokens kept in memory", () => {
	test("a token verified once still expires on time, and a forged twin is not taken for it", async () => {
		const issuer = createTokenIssuer({
			issuer: "herald",
			audience: "herald",
			ttlSeconds: 1,
			clockToleranceSeconds: 0,
			key: { kind: "secret", secret: SECRET },
		});
		const sid = crypto.randomUUID();
		const { token } = await issuer.sign({ sub: crypto.randomUUID(), role: "user", sid });
		expect((await issuer.verify(token)).sid).toBe(sid);
		expect((await issuer.verify(token)).sid).toBe(sid); // from memory
		await expect(issuer.verify(tamperSignature(token))).rejects.toMatchObject({ code: "token_invalid" });
		await eventually(
			() =>
				issuer.verify(token).then(
					() => false,
					(error: { code?: string }) => error.code === "token_expired",
				),
			{ what: "the remembered token to expire", timeoutMs: 5000, intervalMs: 100 },
		);
	});
});
