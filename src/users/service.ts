/** The signed-in user's own profile: read, change, delete. */
import { verifyPassword } from "../auth/passwords.ts";
import { Invalid, Unauthenticated } from "../errors.ts";
import { lockEventsOfUser } from "../events/repository.ts";
import type { Sql } from "../infra/db/sql.ts";
import { type UserRow, updateUser } from "./repository.ts";

export interface ProfileChange {
	displayName?: string;
	timezone?: string;
	locale?: string;
	email?: string;
	currentPassword?: string;
}

export function createUserService(deps: {
	sql: Sql;
	/** After a committed change: every API process's session cache has applied it. */
	settle: () => Promise<void>;
}) {
	const { sql, settle } = deps;
	return {
		async update(user: UserRow, change: ProfileChange): Promise<UserRow> {
			const fields: Record<string, string> = {};
			if (change.displayName !== undefined) fields.display_name = change.displayName.trim();
			if (change.timezone !== undefined) fields.timezone = canonicalTimezone(change.timezone);
			if (change.locale !== undefined) fields.locale = canonicalLocale(change.locale);
			if (change.email !== undefined && change.email.toLowerCase() !== user.email?.toLowerCase()) {
				if (!user.password_hash)
					throw new Invalid("this account has no password; its email comes from its identity provider", {
						field: "email",
					});
				if (!change.currentPassword || !(await verifyPassword(change.currentPassword, user.password_hash)))
					throw new Unauthenticated(
						"invalid_credentials",
						"changing the email requires the current password",
					);
				fields.email = change.email.trim();
			}
			if (Object.keys(fields).length === 0) return user;
			const updated = await updateUser(sql, user.id, fields);
			await settle();
			return updated;
		},

		/** Deletes the account; sessions, tokens and everything it owns go with it (foreign keys). */
		async remove(user: UserRow): Promise<void> {
			await sql.begin(async (tx) => {
				await lockEventsOfUser(tx, user.id);
				await tx`delete from users where id = ${user.id}`;
			});
			await settle(); // its sessions are refused by every process before we answer
		},

		async list(options: { limit: number; offset: number }): Promise<{ items: UserRow[]; total: number }> {
			const items = await sql<UserRow[]>`
				select * from users order by created_at, id limit ${options.limit} offset ${options.offset}`;
			const [count] = await sql<{ n: number }[]>`select count(*)::int as n from users`;
			return { items: [...items], total: count!.n };
		},
	};
}

export type UserService = ReturnType<typeof createUserService>;

function canonicalTimezone(zone: string): string {
	try {
		return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
	} catch {
		throw new Invalid(`unknown time zone "${zone}"`, { field: "timezone" });
	}
}

function canonicalLocale(locale: string): string {
	try {
		const [canonical] = Intl.getCanonicalLocales(locale);
		if (canonical) return canonical;
	} catch {}
	throw new Invalid(`invalid locale "${locale}"`, { field: "locale" });
}
