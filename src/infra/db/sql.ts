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
 * One connection of its own, on the same server and credentials as `sql`,
 * that stays open (never idle-closed): for LISTEN, or for session-level
 * advisory locks. postgres.js reconnects it on its next query; `onclose`
 * says the session ended, and with it its LISTENs and its locks.
 */
export function createSessionConnection(
	sql: Sql,
	options: {
		/** Default: the pool's own application name. */
		applicationName?: string;
		onclose?: () => void;
		onnotify?: (channel: string, payload: string) => void;
		/** postgres.js's own TCP keepalive (default 60 s). */
		keepAliveSeconds?: number;
		/** Server settings for this session, sent at connect (e.g. tcp_keepalives_idle). */
		parameters?: Record<string, string>;
	},
): Sql {
	// `onnotify` is a postgres.js option its type declarations leave out; `sql.options`
	// is the parsed form postgres.js itself reuses for its own LISTEN connection.
	const settings: Record<string, unknown> = {
		...sql.options,
		max: 1,
		idle_timeout: 0,
		max_lifetime: 0,
		fetch_types: false,
		onnotice: () => {},
		...(options.keepAliveSeconds ? { keep_alive: options.keepAliveSeconds } : {}),
		connection: {
			...sql.options.connection,
			...options.parameters,
			...(options.applicationName ? { application_name: options.applicationName } : {}),
		},
		onnotify: options.onnotify,
		onclose: options.onclose,
	};
	return postgres(settings as postgres.Options<Record<string, postgres.PostgresType>>);
}

/** Round-trip latency in ms; throws when the database is unreachable. */
export async function pingDatabase(sql: Sql): Promise<number> {
	const t0 = performance.now();
	await sql`select 1`;
	return performance.now() - t0;
}

/** Anything a single statement can run on: the pool or an open transaction. */
export type Queryable = Sql | postgres.TransactionSql;
