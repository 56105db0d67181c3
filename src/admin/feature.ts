/** Operational endpoints for administrators. */
import { defineFeature } from "../feature.ts";
import { createUserService } from "../users/service.ts";
import { adminRoutes } from "./routes.ts";

export const adminFeature = defineFeature({
	name: "admin",
	routes: ({ auth, sql }) => adminRoutes({ auth, users: createUserService({ sql, settle: auth.settle }) }),
});
