/**
 * Contacts. Deleting one is soft: it and its live transactions get one
 * `deleted_at` (the same instant), and the ledger posts a reversal for each
 * of those transactions, so its balances return to zero. Restoring brings
 * back exactly the transactions deleted with it (same instant) and re-posts
 * them. Both run with the contact row locked (lock order).
 */
import { Conflict, NotFound } from "../errors.ts";
import { onUniqueViolation } from "../infra/db/errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import {
	type ContactFields,
	countContacts,
	findContact,
	insertContact,
	listContacts,
	lockContact,
	setContactDeleted,
	toContactView,
	updateContact,
} from "./contacts-repository.ts";
import { postContactTransactions } from "./ledger.ts";
import type { ContactListQuery, ContactView, CreateContactBody, UpdateContactBody } from "./model.ts";
import {
	deleteContactTransactions,
	lastDeletion,
	refreshDebtStatuses,
	restoreContactTransactions,
} from "./transactions-repository.ts";

const page = (q: { limit?: number; offset?: number }) => ({ limit: q.limit ?? 20, offset: q.offset ?? 0 });

export const idTaken = () =>
	new Conflict("a record with this id already exists", { field: "id", reason: "id_taken" });

export function createContactService(deps: { sql: Sql }) {
	const { sql } = deps;
	return {
		async create(ownerId: string, input: CreateContactBody): Promise<ContactView> {
			const row = await onUniqueViolation(
				() =>
					insertContact(sql, ownerId, input.id?.toLowerCase(), {
						name: input.name.trim(),
						email: input.email ?? null,
						phone: input.phone ?? null,
						note: input.note ?? "",
					}),
				idTaken,
			);
			return toContactView(row);
		},

		async list(ownerId: string, q: ContactListQuery): Promise<{ items: ContactView[]; total: number }> {
			const search = q.q?.trim() || undefined;
			const includeDeleted = q.includeDeleted ?? false;
			const [rows, total] = await Promise.all([
				listContacts(sql, ownerId, search, includeDeleted, page(q)),
				countContacts(sql, ownerId, search, includeDeleted),
			]);
			return { items: rows.map(toContactView), total };
		},

		/** A deleted contact is 404 here (it can still be restored). */
		async get(ownerId: string, id: string): Promise<ContactView> {
			const row = await findContact(sql, ownerId, id);
			if (!row) throw new NotFound("contact");
			return toContactView(row);
		},

		async update(ownerId: string, id: string, change: UpdateContactBody): Promise<ContactView> {
			const fields: ContactFields = {};
			if (change.name !== undefined) fields.name = change.name.trim();
			if (change.email !== undefined) fields.email = change.email;
			if (change.phone !== undefined) fields.phone = change.phone;
			if (change.note !== undefined) fields.note = change.note;
			return sql.begin(async (tx) => {
				const current = await lockContact(tx, ownerId, id);
				if (!current) throw new NotFound("contact");
				const changed = Object.fromEntries(
					Object.entries(fields).filter(([k, v]) => current[k as keyof ContactFields] !== v),
				);
				if (Object.keys(changed).length === 0) return toContactView(current);
				return toContactView(await updateContact(tx, id, changed));
			});
		},

		async remove(ownerId: string, id: string): Promise<void> {
			await sql.begin(async (tx) => {
				const contact = await lockContact(tx, ownerId, id);
				if (!contact) throw new NotFound("contact");
				// Later than any earlier deletion of its transactions: the instant names exactly this group.
				const last = await lastDeletion(tx, id);
				const at = new Date(Math.max(Date.now(), (last?.getTime() ?? 0) + 1));
				await deleteContactTransactions(tx, id, at);
				await postContactTransactions(tx, id, at, "delete");
				await setContactDeleted(tx, id, at);
			});
		},

		/** Idempotent: restoring a live contact changes nothing. */
		async restore(ownerId: string, id: string): Promise<ContactView> {
			return sql.begin(async (tx) => {
				const contact = await lockContact(tx, ownerId, id, true);
				if (!contact) throw new NotFound("contact");
				const at = contact.deleted_at;
				if (!at) return toContactView(contact);
				await postContactTransactions(tx, id, at, "restore");
				await restoreContactTransactions(tx, id, at);
				await refreshDebtStatuses(tx, id);
				return toContactView(await setContactDeleted(tx, id, null));
			});
		},
	};
}

export type ContactService = ReturnType<typeof createContactService>;

/** Used by the transactions service: the locked, live contact or 404. */
export async function lockLiveContact(tx: Parameters<typeof lockContact>[0], ownerId: string, id: string) {
	const contact = await lockContact(tx, ownerId, id);
	if (!contact) throw new NotFound("contact");
	return contact;
}
