/** SQL for users: one statement per function, rows mapped to the public view. */
import type { Role } from "../auth/tokens.ts";
import { Conflict } from "../errors.ts";
import { onUniqueViolation } from "../infra/db/errors.ts";
import type { Sql as Pool, Queryable } from "../infra/db/sql.ts";

type Sql = Queryable;

const emailTaken = () => new Conflict("an account with this email already exists", { field: "email" });

export interface UserRow {
	id: string;
	email: string | null;
	password_hash: string | null;
	display_name: string;
	timezone: string;
	locale: string;
	role: Role;
	created_at: Date;
	updated_at: Date;
}

export interface UserView {
	id: string;
	email: string | null;
	displayName: string;
	timezone: string;
	locale: string;
	role: Role;
	createdAt: string;
	updatedAt: string;
}

export const toView = (u: UserRow): UserView => ({
	id: u.id,
	email: u.email,
	displayName: u.display_name,
	timezone: u.timezone,
	locale: u.locale,
	role: u.role,
	createdAt: u.created_at.toISOString(),
	updatedAt: u.updated_at.toISOString(),
});

export async function findUserByEmail(sql: Sql, email: string): Promise<UserRow | undefined> {
	const [row] = await sql<UserRow[]>`select * from users where lower(email) = lower(${email})`;
	return row;
}

export async function findUserById(sql: Sql, id: string): Promise<UserRow | undefined> {
	const [row] = await sql<UserRow[]>`select * from users where id = ${id}`;
	return row;
}

/** A new account; an email already in use (any case) is a Conflict. */
export function insertUser(
	sql: Sql,
	user: { email: string | null; passwordHash: string | null; displayName: string },
): Promise<UserRow> {
	return onUniqueViolation(async () => {
		const [row] = await sql<UserRow[]>`
			insert into users (email, password_hash, display_name)
			values (${user.email}, ${user.passwordHash}, ${user.displayName}) returning *`;
		return row!;
	}, emailTaken);
}

/** Profile fields by column; an email already in use is a Conflict. */
export function updateUser(sql: Sql, id: string, fields: Record<string, string>): Promise<UserRow> {
	return onUniqueViolation(async () => {
		const [row] = await sql<UserRow[]>`update users set ${sql(fields)} where id = ${id} returning *`;
		return row!;
	}, emailTaken);
}

/** Creates the administrator, or promotes the existing account (keeping its password). Idempotent. */
export async function ensureAdmin(
	sql: Sql,
	email: string,
	passwordHash: string,
): Promise<{ id: string; created: boolean }> {
	const [row] = await sql<{ id: string; created: boolean }[]>`
		insert into users (email, password_hash, display_name, role)
		values (${email}, ${passwordHash}, 'Administrator', 'admin')
		on conflict (lower(email)) where email is not null
		do update set role = 'admin', password_hash = coalesce(users.password_hash, excluded.password_hash)
		returning id, (xmax = 0) as created`;
	return row!;
}

/** The user behind a Herald access token, only while its session is live. */
export async function findUserInSession(
	sql: Sql,
	userId: string,
	sessionId: string,
): Promise<UserRow | undefined> {
	const [row] = await sql<UserRow[]>`
		select u.* from users u
		join auth_sessions s on s.user_id = u.id
		where u.id = ${userId} and s.id = ${sessionId} and s.revoked_at is null`;
	return row;
}

/** The user an external identity maps to, created on first sight. */
export async function userForExternalIdentity(
	sql: Pool,
	identity: { issuer: string; subject: string; email: string | undefined },
): Promise<UserRow> {
	const [known] = await sql<UserRow[]>`
		select u.* from external_identities x join users u on u.id = x.user_id
		where x.issuer = ${identity.issuer} and x.subject = ${identity.subject}`;
	if (known) return known;
	return sql.begin(async (tx) => {
		// Never link to an existing account by email: that would let any issuer take it over.
		const [taken] = identity.email
			? await tx`select 1 from users where lower(email) = lower(${identity.email})`
			: [];
		const user = await insertUser(tx, {
			email: taken ? null : (identity.email ?? null),
			passwordHash: null,
			displayName: identity.email?.split("@")[0] ?? "user",
		});
		const linked = await tx`
			insert into external_identities (issuer, subject, user_id)
			values (${identity.issuer}, ${identity.subject}, ${user!.id})
			on conflict do nothing returning user_id`;
		if (linked.length === 0) {
			// Another request created it first: drop ours, use theirs.
			await tx`delete from users where id = ${user!.id}`;
			const [winner] = await tx<UserRow[]>`
				select u.* from external_identities x join users u on u.id = x.user_id
				where x.issuer = ${identity.issuer} and x.subject = ${identity.subject}`;
			return winner!;
		}
		return user!;
	});
}
