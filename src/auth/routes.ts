import { Elysia } from "elysia";
import { ErrorBody, LoginBody, RefreshBody, RegisterBody, Session, TokenPair } from "./model.ts";
import { authPlugin, clientAddress } from "./plugin.ts";
import type { AuthRateLimiter } from "./rate-limit.ts";
import type { AuthService } from "./service.ts";
import type { TokenIssuer } from "./tokens.ts";

const errors = { 401: ErrorBody, 409: ErrorBody, 422: ErrorBody, 429: ErrorBody };

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
				await limiter.check({
					account: body.email,
					address: clientAddress(request, server, deps.trustProxy),
				});
				const session = await auth.register(body);
				set.status = 201;
				return session;
			},
			{
				body: RegisterBody,
				response: { 201: Session, ...errors },
				detail: {
					summary: "Create an account and sign in",
					description: "Email is unique case-insensitively.",
				},
			},
		)
		.post(
			"/login",
			async ({ body, request, server }) => {
				await limiter.check({
					account: body.email,
					address: clientAddress(request, server, deps.trustProxy),
				});
				return auth.login(body);
			},
			{
				body: LoginBody,
				response: { 200: Session, ...errors },
				detail: { summary: "Sign in with email and password" },
			},
		)
		.post("/refresh", ({ body }) => auth.refresh(body.refreshToken), {
			body: RefreshBody,
			response: { 200: TokenPair, ...errors },
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
				detail: { summary: "Revoke the current session and its refresh tokens" },
			},
		);
}

export function jwksRoute(tokens: TokenIssuer) {
	return new Elysia().get("/.well-known/jwks.json", () => tokens.publicJwks(), {
		detail: { tags: ["auth"], summary: "Public keys of Herald's EdDSA access tokens (empty with HS256)" },
	});
}
