/**
 * Register, login, refresh rotation with reuse detection, logout, and the
 * bearer-token check every protected route runs.
 */
import { Unauthenticated } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import {
	findUserByEmail,
	findUserInSession,
	insertUser,
	toView,
	type UserRow,
	type UserView,
	userForExternalIdentity,
} from "../users/repository.ts";
import { type ExternalVerifier, unverifiedIssuer } from "./external.ts";
import { assertPasswordPolicy, burnPasswordCheck, hashPassword, verifyPassword } from "./passwords.ts";
import type { SessionCache } from "./session-cache.ts";
import {
	createSession,
	hashRefreshToken,
	lockRefreshToken,
	markRefreshTokenUsed,
	newRefreshToken,
	revokeSession,
	storeRefreshToken,
} from "./sessions.ts";
import type { TokenIssuer } from "./tokens.ts";

export interface AuthDeps {
	sql: Sql;
	tokens: TokenIssuer;
	externals: ExternalVerifier[];
	refreshTokenTtlDays: number;
	/** Live sessions in memory (src/auth/session-cache.ts). */
	cache: SessionCache;
}

export interface TokenPair {
	accessToken: string;
	accessTokenExpiresAt: string;
	refreshToken: string;
	refreshTokenExpiresAt: string;
	tokenType: "Bearer";
}

/** Who is calling: the user row and, for Herald tokens, the session. */
export interface Principal {
	user: UserRow;
	sessionId: string | undefined;
}

const BAD_CREDENTIALS = "email or password is incorrect";

export function createAuthService(deps: AuthDeps) {
	const { sql, tokens, cache } = deps;

	async function issue(user: UserRow, sessionId: string): Promise<TokenPair> {
		const access = await tokens.sign({ sub: user.id, role: user.role, sid: sessionId });
		const refresh = newRefreshToken();
		const refreshExpiresAt = new Date(Date.now() + deps.refreshTokenTtlDays * 86_400_000);
		await storeRefreshToken(sql, sessionId, refresh.hash, refreshExpiresAt);
		return {
			accessToken: access.token,
			accessTokenExpiresAt: access.expiresAt.toISOString(),
			refreshToken: refresh.token,
			refreshTokenExpiresAt: refreshExpiresAt.toISOString(),
			tokenType: "Bearer",
		};
	}

	return {
		async register(input: { email: string; password: string; displayName: string }) {
			assertPasswordPolicy(input.password, input.email);
			const passwordHash = await hashPassword(input.password);
			const user = await insertUser(sql, {
				email: input.email.trim(),
				passwordHash,
				displayName: input.displayName.trim(),
			});
			const sessionId = await createSession(sql, user.id);
			return { user: toView(user), ...(await issue(user, sessionId)) };
		},

		async login(input: { email: string; password: string }) {
			const user = await findUserByEmail(sql, input.email.trim());
			if (!user?.password_hash) {
				await burnPasswordCheck(input.password);
				throw new Unauthenticated("invalid_credentials", BAD_CREDENTIALS);
			}
			if (!(await verifyPassword(input.password, user.password_hash)))
				throw new Unauthenticated("invalid_credentials", BAD_CREDENTIALS);
			const sessionId = await createSession(sql, user.id);
			return { user: toView(user), ...(await issue(user, sessionId)) };
		},

		/** Single use: a second presentation revokes the whole family. */
		async refresh(refreshToken: string): Promise<TokenPair> {
			const hash = hashRefreshToken(refreshToken);
			const outcome = await sql.begin(async (tx) => {
				const row = await lockRefreshToken(tx, hash);
				if (!row || row.revoked_at) return { kind: "invalid" } as const;
				if (row.used_at) {
					await revokeSession(tx, row.session_id, "refresh_token_reuse");
					return { kind: "reused" } as const;
				}
				if (row.expires_at.getTime() <= Date.now()) return { kind: "expired" } as const;
				await markRefreshTokenUsed(tx, hash);
				const [user] = await tx<UserRow[]>`select * from users where id = ${row.user_id}`;
				return { kind: "ok", user: user!, sessionId: row.session_id } as const;
			});
			if (outcome.kind === "expired") throw new Unauthenticated("token_expired", "refresh token has expired");
			if (outcome.kind === "reused") {
				await cache.settle(); // the revoked family is refused everywhere before we answer
				throw new Unauthenticated("token_invalid", "refresh token was already used; the session is revoked");
			}
			if (outcome.kind === "invalid") throw new Unauthenticated("token_invalid", "refresh token is invalid");
			return issue(outcome.user, outcome.sessionId);
		},

		async logout(principal: Principal): Promise<void> {
			if (!principal.sessionId) return;
			await revokeSession(sql, principal.sessionId, "logout");
			await cache.settle();
		},

		/** The bearer check behind `{ auth: true }`. */
		async authenticate(authorization: string | null | undefined): Promise<Principal> {
			const token = bearer(authorization);
			const issuer = unverifiedIssuer(token);
			const external = deps.externals.find((v) => v.issuer === issuer);
			if (external) {
				const identity = await external.verify(token);
				const user = await cache.external(identity.issuer, identity.subject, () =>
					userForExternalIdentity(sql, identity),
				);
				return { user, sessionId: undefined };
			}
			const claims = await tokens.verify(token);
			const user = await cache.session(claims.sid, claims.sub, () =>
				findUserInSession(sql, claims.sub, claims.sid),
			);
			if (!user) throw new Unauthenticated("token_invalid", "token is no longer valid");
			return { user, sessionId: claims.sid };
		},

		/** After committing a change to users or sessions: every API process has applied it. */
		settle: () => cache.settle(),

		view: (user: UserRow): UserView => toView(user),
	};
}

export type AuthService = ReturnType<typeof createAuthService>;

function bearer(header: string | null | undefined): string {
	const match = header?.match(/^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i);
	if (!match) throw new Unauthenticated("token_missing", "a Bearer access token is required");
	return match[1]!;
}
