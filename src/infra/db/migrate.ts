/**
 * Applies the numbered plain-SQL files in `migrations/` with postgres-shift
 * (by the author of postgres.js: it runs every pending file in one
 * transaction and records it in a `migrations` table). postgres-shift itself
 * takes no lock, so Herald holds a session advisory lock on a reserved
 * connection around it: when two processes start at once, the second waits
 * and then finds nothing left to apply.
 */
import { resolve } from "node:path";
import shift from "postgres-shift";
import type { Sql } from "./sql.ts";

export const MIGRATIONS_DIR = resolve(import.meta.dir, "../../../migrations");
const LOCK_KEY = 0x4845_5241; // "HERA"

export async function migrate(sql: Sql, options: { onApplied?: (name: string) => void } = {}): Promise<void> {
	const lock = await sql.reserve();
	try {
		await lock`select pg_advisory_lock(${LOCK_KEY})`;
		await shift({
			sql,
			path: MIGRATIONS_DIR,
			after: ({ name }: { name: string }) => options.onApplied?.(name),
		});
	} finally {
		await lock`select pg_advisory_unlock(${LOCK_KEY})`.catch(() => {});
		lock.release();
	}
}
