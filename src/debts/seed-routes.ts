/**
 * Seed 001's own paths, so a Debitum client written against the seed works:
 * `GET/POST /api/contacts`, `GET/POST/DELETE /api/contacts/:id` (POST
 * updates, as in the seed), `GET/POST /api/transactions`. Mounted on the same
 * handlers as the canonical /api/v1 routes: same bodies, same statuses.
 */
import { Elysia } from "elysia";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService } from "../auth/service.ts";
import { aliasOf } from "../docs/seed-alias.ts";
import { type debtHandlers, mount, type RouteDef } from "./routes.ts";

/** `d` on the seed's path, documented as the alias of `canonical`. */
const alias = <H, O extends object>(canonical: string, d: RouteDef<H, O>) =>
	mount(d, aliasOf(canonical, d.summary));

export function seedDebtRoutes(auth: AuthService, h: ReturnType<typeof debtHandlers>) {
	return new Elysia({ prefix: "/api" })
		.use(authPlugin(auth))
		.get("/contacts", ...alias("GET /api/v1/contacts", h.listContacts))
		.post("/contacts", ...alias("POST /api/v1/contacts", h.createContact))
		.get("/contacts/:id", ...alias("GET /api/v1/contacts/{id}", h.getContact))
		.post("/contacts/:id", ...alias("PATCH /api/v1/contacts/{id}", h.updateContact))
		.delete("/contacts/:id", ...alias("DELETE /api/v1/contacts/{id}", h.deleteContact))
		.get("/transactions", ...alias("GET /api/v1/transactions", h.listTransactions))
		.post("/transactions", ...alias("POST /api/v1/transactions", h.createTransaction));
}
