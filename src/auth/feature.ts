/**
 * Accounts and sessions: register, login, refresh, logout, the JWKS; the
 * daily cleanup drops what no one can use any more.
 */
import { defineFeature, routes } from "../feature.ts";
import { authRoutes, jwksRoute, seedAuthRoutes } from "./routes.ts";

export const authFeature = defineFeature({
	name: "auth",
	routes: ({ auth, limiter, tokens, config }) => {
		const deps = { auth, limiter, tokens, trustProxy: config.auth.trustProxy };
		return routes(jwksRoute(tokens), authRoutes(deps), seedAuthRoutes(deps));
	},
	cleanup: {
		"expired-refresh-tokens": async (sql) => {
			const rows = await sql`delete from refresh_tokens where expires_at < now()`;
			return rows.count;
		},
		"ended-sessions": async (sql) => {
			// Revoked a month ago, or with no refresh token left: nothing can use them any more.
			const rows = await sql`
				delete from auth_sessions s
				where s.revoked_at < now() - interval '30 days'
				   or (s.created_at < now() - interval '1 day'
				       and not exists (select 1 from refresh_tokens t where t.session_id = s.id))`;
			return rows.count;
		},
	},
});
