/**
 * Tokens from outside issuers: Supabase (HS256 with the project's JWT secret)
 * and any OpenID-style provider publishing a JWKS (keys fetched and cached by
 * jose). Each verifier is chosen by the token's `iss`, then verified with its
 * own pinned algorithms; nothing is trusted before the signature checks out.
 */
import { createRemoteJWKSet, decodeJwt } from "jose";
import { Unauthenticated } from "../errors.ts";
import { verifyJwt } from "./tokens.ts";

export interface ExternalClaims {
	issuer: string;
	subject: string;
	email: string | undefined;
}

export interface ExternalVerifier {
	readonly issuer: string;
	verify(token: string): Promise<ExternalClaims>;
}

export function supabaseVerifier(options: {
	secret: string;
	issuer: string;
	audience: string;
	clockToleranceSeconds: number;
}): ExternalVerifier {
	const key = new TextEncoder().encode(options.secret);
	return {
		issuer: options.issuer,
		async verify(token) {
			const { payload } = await verifyJwt(token, key, {
				algorithms: ["HS256"],
				issuer: options.issuer,
				audience: options.audience,
				clockToleranceSeconds: options.clockToleranceSeconds,
				required: ["exp", "sub"],
			});
			return claimsOf(payload, options.issuer);
		},
	};
}

export function jwksVerifier(options: {
	url: string;
	issuer: string;
	audience: string;
	algorithms: string[];
	clockToleranceSeconds: number;
}): ExternalVerifier {
	const keys = createRemoteJWKSet(new URL(options.url), {
		cacheMaxAge: 10 * 60_000,
		cooldownDuration: 30_000,
		timeoutDuration: 5_000,
	});
	return {
		issuer: options.issuer,
		async verify(token) {
			const { payload } = await verifyJwt(token, keys, {
				algorithms: options.algorithms,
				issuer: options.issuer,
				audience: options.audience,
				clockToleranceSeconds: options.clockToleranceSeconds,
				required: ["exp", "sub"],
			});
			return claimsOf(payload, options.issuer);
		},
	};
}

function claimsOf(payload: Record<string, unknown>, issuer: string): ExternalClaims {
	const subject = payload.sub;
	if (typeof subject !== "string" || subject.length === 0 || subject.length > 255)
		throw new Unauthenticated("token_invalid", "token is invalid");
	const email = typeof payload.email === "string" && payload.email.includes("@") ? payload.email : undefined;
	return { issuer, subject, email };
}

/** The unverified `iss`, only to pick which verifier checks the token. */
export function unverifiedIssuer(token: string): string | undefined {
	try {
		const iss = decodeJwt(token).iss;
		return typeof iss === "string" ? iss : undefined;
	} catch {
		return undefined;
	}
}
