import { Elysia, t } from "elysia";
import { aliasOf } from "../docs/seed-alias.ts";
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

type AuthRouteDeps = {
	auth: AuthService;
	limiter: AuthRateLimiter;
	tokens: TokenIssuer;
	trustProxy: boolean;
};

type Net = { request: Request; server: Parameters<typeof clientAddress>[1] };

/** Register and login, once: mounted under /api/v1/auth and on seed 001's /api/auth paths. */
function accountHandlers(deps: AuthRouteDeps) {
	const { auth, limiter } = deps;
	return {
		register: {
			async handle({
				body,
				request,
				server,
				set,
			}: Net & { body: typeof RegisterBody.static; set: { status?: number | string } }) {
				// Every registration attempt counts.
				await limiter.take({ account: body.email, address: clientAddress(request, server, deps.trustProxy) });
				const session = await auth.register(body);
				set.status = 201;
				return session;
			},
			options: {
				body: RegisterBody,
				response: { 201: Session, 409: ErrorBody, 422: ErrorBody, 429: ErrorBody },
			},
			summary: "Create an account and sign in",
			description: "Email is unique case-insensitively.",
		},
		login: {
			async handle({ body, request, server }: Net & { body: typeof LoginBody.static }) {
				// Taken before the password is checked, given back when it was right: only failures count.
				const taken = await limiter.take({
					account: body.email,
					address: clientAddress(request, server, deps.trustProxy),
				});
				const session = await auth.login(body);
				await limiter.giveBack(taken);
				return session;
			},
			options: {
				body: LoginBody,
				response: { 200: Session, 401: ErrorBody, 422: ErrorBody, 429: ErrorBody },
			},
			summary: "Sign in with email and password",
		},
	};
}

export function authRoutes(deps: AuthRouteDeps) {
	const { auth } = deps;
	const h = accountHandlers(deps);
	return new Elysia({ prefix: "/api/v1/auth", detail: { tags: ["auth"] } })
		.use(authPlugin(auth))
		.post("/register", h.register.handle, {
			...h.register.options,
			detail: { summary: h.register.summary, description: h.register.description },
		})
		.post("/login", h.login.handle, { ...h.login.options, detail: { summary: h.login.summary } })
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

/** Seed 001's `POST /api/auth/register` and `POST /api/auth/login`, on the same handlers. */
export function seedAuthRoutes(deps: AuthRouteDeps) {
	const h = accountHandlers(deps);
	return new Elysia({ prefix: "/api/auth" })
		.post("/register", h.register.handle, {
			...h.register.options,
			detail: aliasOf("POST /api/v1/auth/register", h.register.summary),
		})
		.post("/login", h.login.handle, {
			...h.login.options,
			detail: aliasOf("POST /api/v1/auth/login", h.login.summary),
		});
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
