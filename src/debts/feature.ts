/**
 * Debts (seed 001, "Debitum"): contacts, transactions over an append-only
 * ledger with cached balances, settle-up, and the seed's own paths as
 * aliases. The daily cleanup checks every cached balance against its entries.
 */
import { defineFeature, routes } from "../feature.ts";
import { createBalanceService } from "./balances-service.ts";
import { createContactService } from "./contacts-service.ts";
import { balanceDrift } from "./ledger.ts";
import { debtHandlers, debtRoutes } from "./routes.ts";
import { seedDebtRoutes } from "./seed-routes.ts";
import { createTransactionService } from "./transactions-service.ts";

export const debtsFeature = defineFeature({
	name: "debts",
	routes: ({ auth, sql }) => {
		const services = {
			contacts: createContactService({ sql }),
			transactions: createTransactionService({ sql }),
			balances: createBalanceService({ sql }),
		};
		const handlers = debtHandlers(services);
		return routes(debtRoutes(auth, services, handlers), seedDebtRoutes(auth, handlers));
	},
	cleanup: {
		/** Reports (never repairs) each cached balance that differs from the sum of its entries. */
		"balance-check": async (sql, _config, log) => {
			const drift = await balanceDrift(sql);
			for (const d of drift)
				log?.warn("cached balance differs from its ledger entries", {
					contactId: d.contact_id,
					currency: d.currency,
					cachedMinor: d.cached,
					entriesMinor: d.entries,
				});
			return drift.length;
		},
	},
});
