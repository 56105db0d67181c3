/** SQL for users: one statement per function, rows mapped to the public view. */
import type { Sql as Pool, Queryable } from "../infra/db/sql.ts";

type Sql = Queryable;

import type { Role } from "../auth/tokens.ts";

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
		const [user] = await tx<UserRow[]>`
			insert into users (email, display_name)
			values (${taken ? null : (identity.email ?? null)}, ${identity.email?.split("@")[0] ?? "user"})
			returning *`;
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
