/** SQL for contacts: one statement per function, rows mapped to the public view. */
import type { Queryable as Sql } from "../infra/db/sql.ts";
import type { ContactView } from "./model.ts";

export interface ContactRow {
	id: string;
	owner_id: string;
	name: string;
	email: string | null;
	phone: string | null;
	note: string;
	created_at: Date;
	updated_at: Date;
	deleted_at: Date | null;
}

export const toContactView = (c: ContactRow): ContactView => ({
	id: c.id,
	name: c.name,
	email: c.email,
	phone: c.phone,
	note: c.note,
	createdAt: c.created_at.toISOString(),
	updatedAt: c.updated_at.toISOString(),
	deletedAt: c.deleted_at?.toISOString() ?? null,
});

export interface ContactFields {
	name?: string;
	email?: string | null;
	phone?: string | null;
	note?: string;
}

export async function insertContact(
	sql: Sql,
	ownerId: string,
	id: string | undefined,
	c: { name: string; email: string | null; phone: string | null; note: string },
): Promise<ContactRow> {
	const [row] = await sql<ContactRow[]>`
		insert into contacts (id, owner_id, name, email, phone, note)
		values (coalesce(${id ?? null}::uuid, gen_random_uuid()), ${ownerId}, ${c.name}, ${c.email}, ${c.phone}, ${c.note})
		returning *`;
	return row!;
}

/** The owner's contact (deleted ones too with `includeDeleted`), row-locked with `forUpdate`. */
async function selectContact(
	sql: Sql,
	ownerId: string,
	id: string,
	includeDeleted: boolean,
	forUpdate: boolean,
): Promise<ContactRow | undefined> {
	const [row] = await sql<ContactRow[]>`
		select * from contacts where id = ${id} and owner_id = ${ownerId}
		${includeDeleted ? sql`` : sql`and deleted_at is null`}
		${forUpdate ? sql`for update` : sql``}`;
	return row;
}

export const findContact = (
	sql: Sql,
	ownerId: string,
	id: string,
	includeDeleted = false,
): Promise<ContactRow | undefined> => selectContact(sql, ownerId, id, includeDeleted, false);

/**
 * Locks the owner's contact row for the rest of the transaction: every write
 * of a contact's transactions, entries and balances takes this lock first
 * (lock order), so writers of one contact serialize.
 */
export const lockContact = (
	sql: Sql,
	ownerId: string,
	id: string,
	includeDeleted = false,
): Promise<ContactRow | undefined> => selectContact(sql, ownerId, id, includeDeleted, true);

export async function updateContact(sql: Sql, id: string, fields: ContactFields): Promise<ContactRow> {
	const [row] = await sql<
		ContactRow[]
	>`update contacts set ${sql(fields as Record<string, unknown>)} where id = ${id} returning *`;
	return row!;
}

export async function setContactDeleted(sql: Sql, id: string, at: Date | null): Promise<ContactRow> {
	const [row] = await sql<ContactRow[]>`update contacts set deleted_at = ${at} where id = ${id} returning *`;
	return row!;
}

const contactWhere = (sql: Sql, ownerId: string, q: string | undefined, includeDeleted: boolean) => sql`
	where owner_id = ${ownerId}
	${includeDeleted ? sql`` : sql`and deleted_at is null`}
	${q ? sql`and strpos(lower(name), lower(${q})) > 0` : sql``}`;

export async function listContacts(
	sql: Sql,
	ownerId: string,
	q: string | undefined,
	includeDeleted: boolean,
	page: { limit: number; offset: number },
): Promise<ContactRow[]> {
	const rows = await sql<ContactRow[]>`
		select * from contacts ${contactWhere(sql, ownerId, q, includeDeleted)}
		order by lower(name), id limit ${page.limit} offset ${page.offset}`;
	return [...rows];
}

export async function countContacts(
	sql: Sql,
	ownerId: string,
	q: string | undefined,
	includeDeleted: boolean,
): Promise<number> {
	const [row] = await sql<{ n: number }[]>`
		select count(*)::int as n from contacts ${contactWhere(sql, ownerId, q, includeDeleted)}`;
	return row!.n;
}
