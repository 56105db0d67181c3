/** Operational endpoints for administrators (`{ auth: "admin" }`). */
import { Elysia, t } from "elysia";
import { ErrorBody, UserView } from "../auth/model.ts";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService } from "../auth/service.ts";
import { Limit, Offset } from "../http/schema.ts";
import { toView } from "../users/repository.ts";
import type { UserService } from "../users/service.ts";

export function adminRoutes(deps: { auth: AuthService; users: UserService }) {
	return new Elysia({ prefix: "/api/v1/admin", detail: { tags: ["admin"] } }).use(authPlugin(deps.auth)).get(
		"/users",
		async ({ query }) => {
			const page = await deps.users.list({ limit: query.limit ?? 50, offset: query.offset ?? 0 });
			return { items: page.items.map(toView), total: page.total };
		},
		{
			auth: "admin",
			query: t.Object({
				limit: Limit(200, 50),
				offset: Offset,
			}),
			response: {
				200: t.Object({ items: t.Array(UserView), total: t.Integer() }),
				401: ErrorBody,
				403: ErrorBody,
			},
			detail: { summary: "List all users (administrators only)" },
		},
	);
}
