/** The signed-in user's own profile. */
import { defineFeature } from "../feature.ts";
import { userRoutes } from "./routes.ts";
import { createUserService } from "./service.ts";

export const usersFeature = defineFeature({
	name: "users",
	routes: ({ auth, sql }) => userRoutes({ auth, users: createUserService({ sql, settle: auth.settle }) }),
});
