import { Elysia, t } from "elysia";
import { ErrorBody, UserView } from "../auth/model.ts";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService } from "../auth/service.ts";
import { toView } from "./repository.ts";
import type { UserService } from "./service.ts";

const ProfileChange = t.Object({
	displayName: t.Optional(t.String({ minLength: 1, maxLength: 100, pattern: "\\S" })),
	timezone: t.Optional(t.String({ minLength: 1, maxLength: 64, examples: ["Europe/Berlin"] })),
	locale: t.Optional(t.String({ minLength: 2, maxLength: 35, examples: ["de-DE"] })),
	email: t.Optional(t.String({ format: "email", maxLength: 254 })),
	currentPassword: t.Optional(t.String({ maxLength: 1024, description: "required to change the email" })),
});

export function userRoutes(deps: { auth: AuthService; users: UserService }) {
	return new Elysia({ prefix: "/api/v1/users", detail: { tags: ["users"] } })
		.use(authPlugin(deps.auth))
		.get("/me", ({ principal }) => toView(principal.user), {
			auth: true,
			response: { 200: UserView, 401: ErrorBody },
			detail: { summary: "The signed-in user's profile" },
		})
		.patch("/me", async ({ principal, body }) => toView(await deps.users.update(principal.user, body)), {
			auth: true,
			body: ProfileChange,
			response: { 200: UserView, 401: ErrorBody, 409: ErrorBody, 422: ErrorBody },
			detail: {
				summary: "Change display name, time zone, locale or email",
				description:
					"Other fields (such as `role`) are ignored. Changing the email requires `currentPassword`.",
			},
		})
		.delete(
			"/me",
			async ({ principal, set }) => {
				await deps.users.remove(principal.user);
				set.status = 204;
			},
			{
				auth: true,
				response: { 204: t.Void({ description: "deleted, no body" }), 401: ErrorBody },
				detail: { summary: "Delete the account and everything it owns; its tokens stop working at once" },
			},
		);
}
