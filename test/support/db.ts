/** An isolated database per test file, cloned from the migrated template. */
import { createSql, type Sql } from "../../src/infra/db/sql.ts";
import { testEnv, withDatabase } from "./env.ts";

let counter = 0;

export interface TestDatabase {
	readonly url: string;
	readonly sql: Sql;
	drop(): Promise<void>;
}

export async function freshDatabase(): Promise<TestDatabase> {
	const env = await testEnv();
	const name = `herald_t_${process.pid}_${++counter}`;
	const admin = createSql(env.databaseUrl, { max: 1 });
	try {
		await admin.unsafe(`create database "${name}" template "${env.templateDatabase}"`);
	} finally {
		await admin.end();
	}
	const url = withDatabase(env.databaseUrl, name);
	const sql = createSql(url, { max: 5 });
	return {
		url,
		sql,
		async drop() {
			await sql.end({ timeout: 1 });
			const a = createSql(env.databaseUrl, { max: 1 });
			await a.unsafe(`drop database if exists "${name}" with (force)`).finally(() => a.end());
		},
	};
}
