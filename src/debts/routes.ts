/**
 * /api/v1/contacts, /api/v1/transactions, /api/v1/balances and the seed-001
 * aliases (/api/contacts, /api/transactions) on the same handlers. Everything
 * needs a signed-in user and is owner-scoped: another user's id is 404.
 */
import { Elysia, t } from "elysia";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService, Principal } from "../auth/service.ts";
import type { BalanceService } from "./balances-service.ts";
import type { ContactService } from "./contacts-service.ts";
import {
	BalanceListQuery,
	BalancePage,
	BalanceQuery,
	ContactBalance,
	ContactListQuery,
	ContactPage,
	ContactView,
	CreateContactBody,
	CreateTransactionBody,
	ErrorBody,
	IdParams,
	SettleBody,
	SettleResult,
	TransactionListQuery,
	TransactionPage,
	TransactionView,
	UpdateContactBody,
	UpdateTransactionBody,
} from "./model.ts";
import type { TransactionService } from "./transactions-service.ts";

const NoContent = t.Void({ description: "done, no body" });

export interface DebtServices {
	contacts: ContactService;
	transactions: TransactionService;
	balances: BalanceService;
}

type Ctx<B = unknown, P = unknown, Q = unknown> = {
	principal: Principal;
	body: B;
	params: P;
	query: Q;
	set: { status?: number | string };
};

/** The handlers and their schemas, once; mounted on the canonical routes and on the seed's paths. */
export function debtHandlers(s: DebtServices) {
	return {
		listContacts: {
			handle: ({ principal, query }: Ctx<unknown, unknown, ContactListQuery>) =>
				s.contacts.list(principal.user.id, query),
			options: {
				auth: true as const,
				query: ContactListQuery,
				response: { 200: ContactPage, 401: ErrorBody, 422: ErrorBody },
			},
			summary: "The caller's contacts by name (`q`: part of the name; paging)",
		},
		createContact: {
			handle: async ({ principal, body, set }: Ctx<CreateContactBody>) => {
				const contact = await s.contacts.create(principal.user.id, body);
				set.status = 201;
				return contact;
			},
			options: {
				auth: true as const,
				body: CreateContactBody,
				response: { 201: ContactView, 401: ErrorBody, 409: ErrorBody, 422: ErrorBody },
			},
			summary: "Add a contact (optional client-chosen `id`, a UUID v7)",
		},
		getContact: {
			handle: ({ principal, params }: Ctx<unknown, IdParams>) => s.contacts.get(principal.user.id, params.id),
			options: {
				auth: true as const,
				params: IdParams,
				response: { 200: ContactView, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
			},
			summary: "One contact (404 when deleted or not the caller's)",
		},
		updateContact: {
			handle: ({ principal, params, body }: Ctx<UpdateContactBody, IdParams>) =>
				s.contacts.update(principal.user.id, params.id, body),
			options: {
				auth: true as const,
				params: IdParams,
				body: UpdateContactBody,
				response: { 200: ContactView, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
			},
			summary: "Change a contact's name, email, phone or note",
		},
		deleteContact: {
			handle: async ({ principal, params, set }: Ctx<unknown, IdParams>) => {
				await s.contacts.remove(principal.user.id, params.id);
				set.status = 204;
			},
			options: {
				auth: true as const,
				params: IdParams,
				response: { 204: NoContent, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
			},
			summary: "Soft-delete a contact and its transactions (their balances return to 0; restorable)",
		},
		listTransactions: {
			handle: ({ principal, query }: Ctx<unknown, unknown, TransactionListQuery>) =>
				s.transactions.list(principal.user.id, query),
			options: {
				auth: true as const,
				query: TransactionListQuery,
				response: { 200: TransactionPage, 401: ErrorBody, 422: ErrorBody },
			},
			summary:
				"The caller's transactions, newest first (by contact, kind, currency, status, `from`/`to` on occurredOn)",
		},
		createTransaction: {
			handle: async ({ principal, body, set }: Ctx<CreateTransactionBody>) => {
				const created = await s.transactions.create(principal.user.id, body);
				set.status = 201;
				return created;
			},
			options: {
				auth: true as const,
				body: CreateTransactionBody,
				response: { 201: TransactionView, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
			},
			summary:
				"Record a debt or a payment (`amountMinor` or a decimal `amount`; payments may carry `allocations`)",
		},
	};
}

type Handlers = ReturnType<typeof debtHandlers>;

/** One route's handler and schema, as `debtHandlers` declares them. */
export interface RouteDef<H, O> {
	handle: H;
	options: O;
	summary: string;
}

/**
 * The handler and options that mount `d` with `detail` as its OpenAPI entry:
 * `.get(path, ...mount(d, detail))`. The canonical routes and the seed's
 * aliases both mount the same definition this way.
 */
export const mount = <H, O extends object, D extends object>(d: RouteDef<H, O>, detail: D) =>
	[d.handle, { ...d.options, detail }] as const;

const doc = (summary: string, description?: string) => ({
	summary,
	...(description ? { description } : {}),
});

/** `d` on its canonical /api/v1 path, documented by its summary (and `description`). */
const canonical = <H, O extends object>(d: RouteDef<H, O>, description?: string) =>
	mount(d, doc(d.summary, description));

export function debtRoutes(auth: AuthService, s: DebtServices, h: Handlers) {
	const contacts = new Elysia({ prefix: "/api/v1/contacts", detail: { tags: ["contacts"] } })
		.use(authPlugin(auth))
		.get("", ...canonical(h.listContacts))
		.post("", ...canonical(h.createContact))
		.get("/:id", ...canonical(h.getContact))
		.patch("/:id", ...canonical(h.updateContact))
		.delete("/:id", ...canonical(h.deleteContact))
		.post("/:id/restore", ({ principal, params }) => s.contacts.restore(principal.user.id, params.id), {
			auth: true,
			params: IdParams,
			response: { 200: ContactView, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
			detail: doc(
				"Restore a deleted contact with the transactions deleted with it",
				"Transactions deleted on their own before the contact stay deleted. Restoring a live contact changes nothing.",
			),
		})
		.get(
			"/:id/balance",
			({ principal, params, query }) => s.balances.ofContact(principal.user.id, params.id, query.asOf),
			{
				auth: true,
				params: IdParams,
				query: BalanceQuery,
				response: { 200: ContactBalance, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
				detail: doc(
					"The contact's balance per currency (positive = they owe you)",
					"From the cached balances; with `asOf`, computed from the ledger entries.",
				),
			},
		)
		.post(
			"/:id/settle",
			async ({ principal, params, body, set }) => {
				const result = await s.balances.settle(principal.user.id, params.id, body);
				set.status = 201;
				return result;
			},
			{
				auth: true,
				params: IdParams,
				body: SettleBody,
				response: { 201: SettleResult, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
				detail: doc(
					"Settle up: record a payment for the whole balance in `currency`, or `amountMinor` of it",
					"payment_in when they owe you, payment_out when you owe them. More than the balance, a zero " +
						"balance, or over-allocation is 422 and writes nothing. Without `allocations` the payment pays " +
						"the oldest due open debts first; with them exactly those (`[]`: none). Paid debts become " +
						"`partial` or `settled`.",
				),
			},
		);
	const transactions = new Elysia({ prefix: "/api/v1/transactions", detail: { tags: ["transactions"] } })
		.use(authPlugin(auth))
		.get("", ...canonical(h.listTransactions))
		.post(
			"",
			...canonical(
				h.createTransaction,
				"Currency decimals come from ISO 4217: `amount` with more decimals than the currency has (JPY 12.5, " +
					"USD 1.005), zero or a negative amount is 422. A due date is for debts only.",
			),
		)
		.get("/:id", ({ principal, params }) => s.transactions.get(principal.user.id, params.id), {
			auth: true,
			params: IdParams,
			response: { 200: TransactionView, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
			detail: doc("One transaction (404 when deleted or not the caller's)"),
		})
		.patch(
			"/:id",
			({ principal, params, body }) => s.transactions.update(principal.user.id, params.id, body),
			{
				auth: true,
				params: IdParams,
				body: UpdateTransactionBody,
				response: { 200: TransactionView, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
				detail: doc(
					"Edit a transaction: the ledger posts a reversal of the old version and a new entry",
					"Kind or currency of a transaction with allocations cannot change (409); the amount cannot drop " +
						"below what is allocated (422).",
				),
			},
		)
		.delete(
			"/:id",
			async ({ principal, params, set }) => {
				await s.transactions.remove(principal.user.id, params.id);
				set.status = 204;
			},
			{
				auth: true,
				params: IdParams,
				response: { 204: NoContent, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
				detail: doc("Soft-delete a transaction (the ledger posts a reversal)"),
			},
		)
		.post("/:id/restore", ({ principal, params }) => s.transactions.restore(principal.user.id, params.id), {
			auth: true,
			params: IdParams,
			response: { 200: TransactionView, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
			detail: doc(
				"Restore a deleted transaction (the ledger re-posts it)",
				"409 when its contact is deleted (restore the contact) or when restoring a payment would " +
					"over-allocate debts other payments paid meanwhile.",
			),
		});
	const balances = new Elysia({ prefix: "/api/v1/balances", detail: { tags: ["balances"] } })
		.use(authPlugin(auth))
		.get("", ({ principal, query }) => s.balances.list(principal.user.id, query), {
			auth: true,
			query: BalanceListQuery,
			response: { 200: BalancePage, 401: ErrorBody, 422: ErrorBody },
			detail: doc(
				"Balances per contact and currency (positive = they owe you), by contact name",
				"Never summed across currencies. Deleted contacts are left out. With `asOf`, from the ledger entries.",
			),
		});
	return new Elysia().use(contacts).use(transactions).use(balances);
}
