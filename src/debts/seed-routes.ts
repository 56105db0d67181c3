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
import type { debtHandlers } from "./routes.ts";

export function seedDebtRoutes(auth: AuthService, h: ReturnType<typeof debtHandlers>) {
	return new Elysia({ prefix: "/api" })
		.use(authPlugin(auth))
		.get("/contacts", h.listContacts.handle, {
			...h.listContacts.options,
			detail: aliasOf("GET /api/v1/contacts", h.listContacts.summary),
		})
		.post("/contacts", h.createContact.handle, {
			...h.createContact.options,
			detail: aliasOf("POST /api/v1/contacts", h.createContact.summary),
		})
		.get("/contacts/:id", h.getContact.handle, {
			...h.getContact.options,
			detail: aliasOf("GET /api/v1/contacts/{id}", h.getContact.summary),
		})
		.post("/contacts/:id", h.updateContact.handle, {
			...h.updateContact.options,
			detail: aliasOf("PATCH /api/v1/contacts/{id}", h.updateContact.summary),
		})
		.delete("/contacts/:id", h.deleteContact.handle, {
			...h.deleteContact.options,
			detail: aliasOf("DELETE /api/v1/contacts/{id}", h.deleteContact.summary),
		})
		.get("/transactions", h.listTransactions.handle, {
			...h.listTransactions.options,
			detail: aliasOf("GET /api/v1/transactions", h.listTransactions.summary),
		})
		.post("/transactions", h.createTransaction.handle, {
			...h.createTransaction.options,
			detail: aliasOf("POST /api/v1/transactions", h.createTransaction.summary),
		});
}
