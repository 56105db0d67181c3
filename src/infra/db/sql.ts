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

/**
 * One connection that stays open (never idle-closed) for LISTEN: postgres.js
 * reconnects it on its next query; `onclose` says notifications may have
 * been lost meanwhile.
 */
export function createListenerConnection(
	url: string,
	options: {
		applicationName: string;
		onnotify: (channel: string, payload: string) => void;
		onclose: () => void;
	},
): Sql {
	// `onnotify` is a postgres.js option its type declarations leave out.
	const settings: Record<string, unknown> = {
		max: 1,
		idle_timeout: 0,
		max_lifetime: 0,
		connect_timeout: 10,
		fetch_types: false,
		onnotice: () => {},
		connection: { application_name: options.applicationName },
		onnotify: options.onnotify,
		onclose: options.onclose,
	};
	return postgres(url, settings as postgres.Options<Record<string, postgres.PostgresType>>);
}

/** Round-trip latency in ms; throws when the database is unreachable. */
export async function pingDatabase(sql: Sql): Promise<number> {
	const t0 = performance.now();
	await sql`select 1`;
	return performance.now() - t0;
}

/** Anything a single statement can run on: the pool or an open transaction. */
export type Queryable = Sql | postgres.TransactionSql;
