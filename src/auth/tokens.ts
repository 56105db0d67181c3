/**
 * Herald's own access tokens (jose): HS256 from a secret, or EdDSA when a
 * private key is configured. Verification pins the algorithm, requires
 * `exp`, `iat`, `sub`, `jti`, checks `iss`/`aud`/`nbf` with a small clock
 * tolerance, and keeps "expired" apart from "invalid".
 */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { errors, exportJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { Unauthenticated } from "../errors.ts";

export type Role = "user" | "admin";

export interface AccessClaims extends JWTPayload {
	sub: string;
	role: Role;
	/** The session (refresh-token family) this token belongs to. */
	sid: string;
	jti: string;
	exp: number;
}

export interface TokenSettings {
	issuer: string;
	audience: string;
	ttlSeconds: number;
	clockToleranceSeconds: number;
	/** HS256 secret (≥ 32 bytes), or an Ed25519 private key in PKCS#8 PEM. */
	key: { kind: "secret"; secret: string } | { kind: "ed25519"; privateKeyPem: string };
}

export interface TokenIssuer {
	readonly issuer: string;
	sign(claims: { sub: string; role: Role; sid: string }): Promise<{ token: string; expiresAt: Date }>;
	verify(token: string): Promise<AccessClaims>;
	/** Public keys for `/.well-known/jwks.json` (empty for HS256). */
	publicJwks(): Promise<{ keys: JWK[] }>;
}

export function createTokenIssuer(settings: TokenSettings): TokenIssuer {
	let signKey: Uint8Array | KeyObject;
	let verifyKey: Uint8Array | KeyObject;
	let alg: "HS256" | "EdDSA";
	if (settings.key.kind === "secret") {
		const bytes = new TextEncoder().encode(settings.key.secret);
		if (bytes.length < 32) throw new Error("AUTH_JWT_SECRET must be at least 32 bytes");
		signKey = verifyKey = bytes;
		alg = "HS256";
	} else {
		signKey = createPrivateKey(settings.key.privateKeyPem);
		if (signKey.asymmetricKeyType !== "ed25519")
			throw new Error("AUTH_JWT_PRIVATE_KEY must be an Ed25519 key");
		verifyKey = createPublicKey(signKey);
		alg = "EdDSA";
	}
	const kid = alg === "EdDSA" ? "herald-ed25519" : undefined;
	/**
	 * Tokens that verified, until they expire: a token string cannot change,
	 * so its signature and claims need checking once per process. Bounded
	 * (oldest out first). Whether its session is still live is the session
	 * cache's question, asked on every request.
	 */
	const verified = new Map<string, AccessClaims>();
	const VERIFIED_MAX = 10_000;
	return {
		issuer: settings.issuer,
		async sign({ sub, role, sid }) {
			const now = Math.floor(Date.now() / 1000);
			const exp = now + settings.ttlSeconds;
			const token = await new SignJWT({ role, sid })
				.setProtectedHeader(kid ? { alg, kid, typ: "JWT" } : { alg, typ: "JWT" })
				.setSubject(sub)
				.setIssuer(settings.issuer)
				.setAudience(settings.audience)
				.setIssuedAt(now)
				.setExpirationTime(exp)
				.setJti(crypto.randomUUID())
				.sign(signKey);
			return { token, expiresAt: new Date(exp * 1000) };
		},
		async verify(token) {
			const known = verified.get(token);
			if (known) {
				if (Date.now() / 1000 < known.exp + settings.clockToleranceSeconds) return known;
				verified.delete(token);
				throw new Unauthenticated("token_expired", "token has expired");
			}
			const { payload } = await verifyJwt(token, verifyKey, {
				algorithms: [alg],
				issuer: settings.issuer,
				audience: settings.audience,
				clockToleranceSeconds: settings.clockToleranceSeconds,
				required: ["exp", "iat", "sub", "jti"],
			});
			if (
				(payload.role !== "user" && payload.role !== "admin") ||
				!isUuid(payload.sid) ||
				!isUuid(payload.sub)
			)
				throw new Unauthenticated("token_invalid", "token is invalid");
			if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
			verified.set(token, payload as AccessClaims);
			return payload as AccessClaims;
		},
		async publicJwks() {
			if (alg !== "EdDSA") return { keys: [] };
			return { keys: [{ ...(await exportJWK(verifyKey)), kid, alg, use: "sig" }] };
		},
	};
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuid = (v: unknown): v is string => typeof v === "string" && UUID.test(v);

/** jose's verification with errors mapped to `token_expired` / `token_invalid`. */
export async function verifyJwt(
	token: string,
	key: Parameters<typeof jwtVerify>[1],
	options: {
		algorithms: string[];
		issuer: string;
		audience: string;
		clockToleranceSeconds: number;
		required: string[];
	},
) {
	try {
		return await jwtVerify(token, key as Uint8Array, {
			algorithms: options.algorithms,
			issuer: options.issuer,
			audience: options.audience,
			clockTolerance: options.clockToleranceSeconds,
			requiredClaims: options.required,
		});
	} catch (error) {
		if (error instanceof errors.JWTExpired) throw new Unauthenticated("token_expired", "token has expired");
		throw new Unauthenticated("token_invalid", "token is invalid");
	}
}
