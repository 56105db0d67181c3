import { Elysia, t } from "elysia";
import { ErrorBody, LoginBody, RefreshBody, RegisterBody, Session, TokenPair } from "./model.ts";
import { authPlugin, clientAddress } from "./plugin.ts";
import type { AuthRateLimiter } from "./rate-limit.ts";
import type { AuthService } from "./service.ts";
import type { TokenIssuer } from "./tokens.ts";

const NoContent = t.Void({ description: "done, no body" });
const Jwks = t.Object(
	{ keys: t.Array(t.Record(t.String(), t.Unknown()), { description: "JSON Web Keys (RFC 7517)" }) },
	{ description: "empty `keys` while Herald signs with a shared secret (HS256)" },
);

export function authRoutes(deps: {
	auth: AuthService;
	limiter: AuthRateLimiter;
	tokens: TokenIssuer;
	trustProxy: boolean;
}) {
	const { auth, limiter } = deps;
	return new Elysia({ prefix: "/api/v1/auth", detail: { tags: ["auth"] } })
		.use(authPlugin(auth))
		.post(
			"/register",
			async ({ body, request, server, set }) => {
				// Every registration attempt counts.
				await limiter.take({ account: body.email, address: clientAddress(request, server, deps.trustProxy) });
				const session = await auth.register(body);
				set.status = 201;
				return session;
			},
			{
				body: RegisterBody,
				response: { 201: Session, 409: ErrorBody, 422: ErrorBody, 429: ErrorBody },
				detail: {
					summary: "Create an account and sign in",
					description: "Email is unique case-insensitively.",
				},
			},
		)
		.post(
			"/login",
			async ({ body, request, server }) => {
				// Taken before the password is checked, given back when it was right: only failures count.
				const taken = await limiter.take({
					account: body.email,
					address: clientAddress(request, server, deps.trustProxy),
				});
				const session = await auth.login(body);
				await limiter.giveBack(taken);
				return session;
			},
			{
				body: LoginBody,
				response: { 200: Session, 401: ErrorBody, 422: ErrorBody, 429: ErrorBody },
				detail: { summary: "Sign in with email and password" },
			},
		)
		.post("/refresh", ({ body }) => auth.refresh(body.refreshToken), {
			body: RefreshBody,
			response: { 200: TokenPair, 401: ErrorBody, 422: ErrorBody },
			detail: {
				summary: "Rotate a refresh token",
				description: "Refresh tokens are single use; presenting a used one revokes the whole session.",
			},
		})
		.post(
			"/logout",
			async ({ principal, set }) => {
				await auth.logout(principal);
				set.status = 204;
			},
			{
				auth: true,
				response: { 204: NoContent, 401: ErrorBody },
				detail: { summary: "Revoke the current session and its refresh tokens" },
			},
		);
}

export function jwksRoute(tokens: TokenIssuer) {
	return new Elysia().get("/.well-known/jwks.json", () => tokens.publicJwks(), {
		response: { 200: Jwks },
		detail: {
			tags: ["auth"],
			summary: "Public keys of Herald's access tokens",
			description:
				"With `AUTH_JWT_PRIVATE_KEY` Herald signs EdDSA tokens and publishes their public key here; with " +
				"`AUTH_JWT_SECRET` (and in `dev` without either) it signs HS256 and `keys` is empty.",
		},
	});
}
