/** Migrations on a real, empty database: applied once even when two processes start at once. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { MIGRATIONS_DIR, migrate } from "../src/infra/db/migrate.ts";
import { createSql, type Sql } from "../src/infra/db/sql.ts";
import { testEnv, withDatabase } from "./support/env.ts";

const name = `herald_t_${process.pid}_migrate`;
let admin: Sql;
let url: string;

beforeAll(async () => {
	const env = await testEnv();
	admin = createSql(env.databaseUrl, { max: 1 });
	await admin.unsafe(`create database "${name}"`);
	url = withDatabase(env.databaseUrl, name);
});

afterAll(async () => {
	await admin.unsafe(`drop database if exists "${name}" with (force)`);
	await admin.end();
});

test("migration files are numbered 00001, 00002, … with no gaps", () => {
	const files = readdirSync(MIGRATIONS_DIR)
		.filter((f) => f.endsWith(".sql"))
		.sort();
	expect(files.length).toBeGreaterThan(0);
	expect(files.map((f) => f.slice(0, 6))).toEqual(files.map((_, i) => `${String(i + 1).padStart(5, "0")}_`));
});

test("two processes migrating at once: both succeed, every migration applied exactly once", async () => {
	const a = createSql(url, { max: 3 });
	const b = createSql(url, { max: 3 });
	const applied: string[] = [];
	try {
		await Promise.all([
			migrate(a, { onApplied: (n) => applied.push(`a:${n}`) }),
			migrate(b, { onApplied: (n) => applied.push(`b:${n}`) }),
		]);
		const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith(".sql"));
		expect(applied).toHaveLength(files.length); // one process applied them, the other found nothing to do
		const rows = await a<
			{ migration_id: number }[]
		>`select migration_id from migrations order by migration_id`;
		expect(rows.map((r) => r.migration_id)).toEqual(files.map((_, i) => i + 1));
		await migrate(a); // and a later start is a no-op
		expect((await a`select count(*)::int as n from migrations`)[0]!.n).toBe(files.length);
		const [table] = await a`select to_regclass('cleanup_runs') as t`;
		expect(table!.t).toBe("cleanup_runs");
	} finally {
		await a.end();
		await b.end();
	}
});
