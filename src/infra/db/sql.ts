/** The one module that creates postgres.js pools. */
import postgres from "postgres";

export type Sql = postgres.Sql;

export function createSql(url: string, options: { max?: number; applicationName?: string } = {}): Sql {
	return postgres(url, {
		max: options.max ?? 10,
		idle_timeout: 30,
		connect_timeout: 10,
		onnotice: () => {},
		connection: { application_name: options.applicationName ?? "herald" },
	});
}

/** Round-trip latency in ms; throws when the database is unreachable. */
export async function pingDatabase(sql: Sql): Promise<number> {
	const t0 = performance.now();
	await sql`select 1`;
	return performance.now() - t0;
}

/** Anything a single statement can run on: the pool or an open transaction. */
export type Queryable = Sql | postgres.TransactionSql;
