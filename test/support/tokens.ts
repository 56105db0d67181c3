/**
 * Hand-made JWTs for the negative token matrix: any header, any payload, any
 * signature (HS256 / RS256 / EdDSA with node:crypto, or none at all), plus
 * the small request helpers the auth tests share.
 */
import { expect } from "bun:test";
import { createHmac, type KeyObject, sign } from "node:crypto";
import type { TestApp } from "./app.ts";

export type Claims = Record<string, unknown>;
type Response = Awaited<ReturnType<TestApp["request"]>>;

export const b64url = (data: string | Uint8Array): string => Buffer.from(data).toString("base64url");
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Header and payload of a compact JWT, unverified. */
export function decodeParts(token: string): { header: Claims; payload: Claims; signature: string } {
	const [h = "", p = "", signature = ""] = token.split(".");
	const part = (s: string) => JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as Claims;
	return { header: part(h), payload: part(p), signature };
}

/**
 * Encodes and signs a JWT by hand. The key is used as given: a string or
 * bytes are an HMAC secret (HS256), a KeyObject signs RS256 or EdDSA, and
 * `alg: "none"` leaves the signature empty. Claims set to `undefined` are left out.
 */
export function jwt(header: Claims, payload: Claims, key?: string | Uint8Array | KeyObject): string {
	const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
	const data = Buffer.from(input);
	let signature: Uint8Array;
	switch (header.alg) {
		case "none":
			signature = new Uint8Array();
			break;
		case "HS256":
			signature = createHmac("sha256", key as string | Uint8Array)
				.update(data)
				.digest();
			break;
		case "RS256":
			signature = sign("sha256", data, key as KeyObject);
			break;
		case "EdDSA":
			signature = sign(null, data, key as KeyObject);
			break;
		default:
			throw new Error(`jwt(): unsupported alg ${String(header.alg)}`);
	}
	return `${input}.${b64url(signature)}`;
}

/** Same header and payload, one signature character changed (mid-string, so the bytes really differ). */
export function tamperSignature(token: string): string {
	const [h, p, s = ""] = token.split(".");
	const i = Math.floor(s.length / 2);
	const flipped = s[i] === "A" ? "B" : "A";
	return `${h}.${p}.${s.slice(0, i)}${flipped}${s.slice(i + 1)}`;
}

/** The payload changed, the original header and signature kept. */
export function tamperPayload(token: string, changes: Claims): string {
	const [h, , s] = token.split(".");
	const { payload } = decodeParts(token);
	return `${h}.${b64url(JSON.stringify({ ...payload, ...changes }))}.${s}`;
}

/** Claims Herald itself would sign for this user and session, with overrides. */
export function heraldClaims(base: Claims, overrides: Claims = {}): Claims {
	const now = nowSeconds();
	return {
		sub: base.sub,
		role: base.role,
		sid: base.sid,
		jti: crypto.randomUUID(),
		iss: "herald",
		aud: "herald",
		iat: now,
		exp: now + 600,
		...overrides,
	};
}

export interface Registered {
	userId: string;
	email: string;
	accessToken: string;
	refreshToken: string;
	/** The access token's payload: `sub`, `role`, `sid`, … */
	claims: Claims;
}

export async function register(
	app: TestApp,
	email = `${crypto.randomUUID()}@example.com`,
): Promise<Registered> {
	const res = await app.request("POST", "/api/v1/auth/register", {
		body: { email, password: "correct horse battery", displayName: "Tester" },
	});
	expect(res.status).toBe(201);
	return {
		userId: res.body.user.id,
		email,
		accessToken: res.body.accessToken,
		refreshToken: res.body.refreshToken,
		claims: decodeParts(res.body.accessToken).payload,
	};
}

export const me = (app: TestApp, token: string): Promise<Response> =>
	app.request("GET", "/api/v1/users/me", { token });

export const refresh = (app: TestApp, refreshToken: string): Promise<Response> =>
	app.request("POST", "/api/v1/auth/refresh", { body: { refreshToken } });

/**
 * 401 with exactly this error code, the Bearer challenge, and no trace of
 * the presented credential (whole or any of its parts) in the body.
 */
export function expectRejected(
	res: Response,
	code: "token_missing" | "token_expired" | "token_invalid",
	credential?: string,
): void {
	expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 401, code });
	expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
	if (!credential) return;
	const text = JSON.stringify(res.body);
	expect(text).not.toContain(credential);
	for (const part of credential.split(".")) if (part.length >= 8) expect(text).not.toContain(part);
}
