import { Option } from "effect";
import { hashPassword } from "../auth/passwords.ts";
import type { HeraldConfig } from "../config.ts";
import { secret } from "../config-kit.ts";
import type { Sql } from "../infra/db/sql.ts";
import type { Logger } from "../infra/log.ts";
import { ensureAdmin } from "./repository.ts";

/** ADMIN_EMAIL + ADMIN_PASSWORD: the first administrator, created or promoted at start-up. Idempotent. */
export async function bootstrapAdmin(sql: Sql, config: HeraldConfig, log: Logger): Promise<void> {
	const { adminEmail, adminPassword } = config.auth;
	if (Option.isNone(adminEmail) || Option.isNone(adminPassword)) return;
	const row = await ensureAdmin(sql, adminEmail.value, await hashPassword(secret(adminPassword.value)));
	log.info(row.created ? "administrator created" : "administrator ensured", { userId: row.id });
}
