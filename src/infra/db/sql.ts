/** The one module that creates postgres.js pools. */
import postgres from "postgres";
import { currentTraceparent, inSpan, SpanKind, SpanStatusCode, tracer, tracingOn } from "../tracing.ts";

export type Sql = postgres.Sql;

export function createSql(url: string, options: { max?: number; applicationName?: string } = {}): Sql {
	return traced(
		postgres(url, {
			max: options.max ?? 10,
			idle_timeout: 30,
			connect_timeout: 10,
			onnotice: () => {},
			connection: { application_name: options.applicationName ?? "herald" },
		}),
	);
}

/**
 * With tracing on, each transaction is a span, and a transaction begun inside
 * a recording span first sets `herald.traceparent` (transaction-local): the
 * outbox capture trigger copies it into the rows it writes (migration 00012).
 * Each query run on the pool (awaited; a fragment nested in another query is
 * never awaited itself) is a span named by its first keyword: no SQL text,
 * no parameter. (Statements inside a transaction are covered by its span.)
 */
function traced(sql: Sql): Sql {
	if (!tracingOn()) return sql;
	patchBegin(sql);
	return new Proxy(sql, {
		apply(target, thisArg, args: unknown[]) {
			const query = Reflect.apply(target, thisArg, args) as unknown;
			const strings = args[0] as TemplateStringsArray | undefined;
			if (query instanceof Promise && Array.isArray(strings?.raw))
				spanOnAwait(query, operationOf(strings[0]!));
			return query;
		},
	});
}

const operationOf = (head: string) =>
	head
		.trim()
		.split(/\s+/, 1)[0]!
		.toLowerCase()
		.replace(/[^a-z]/g, "") || "query";

/** The query's span starts when it is first awaited (postgres.js runs a query then) and ends when it settles. */
function spanOnAwait(query: Promise<unknown>, operation: string): void {
	const then = query.then;
	let settled: Promise<unknown> | undefined;
	// biome-ignore lint/suspicious/noThenProperty: the query is a promise; its own `then` is wrapped, deliberately
	Object.defineProperty(query, "then", {
		configurable: true,
		value(
			this: Promise<unknown>,
			onFulfilled?: (v: unknown) => unknown,
			onRejected?: (e: unknown) => unknown,
		) {
			if (!settled) {
				const span = tracer().startSpan(`db ${operation}`, {
					kind: SpanKind.CLIENT,
					attributes: { "db.system": "postgresql", "db.operation": operation },
				});
				settled = then.call(
					this,
					(value: unknown) => {
						span.end();
						return value;
					},
					(error: unknown) => {
						span.setStatus({
							code: SpanStatusCode.ERROR,
							message: (error as { code?: string }).code ?? "error",
						});
						span.end();
						throw error;
					},
				);
			}
			return settled.then(onFulfilled, onRejected);
		},
	});
}

function patchBegin(sql: Sql): void {
	const begin = sql.begin.bind(sql) as (...args: unknown[]) => Promise<unknown>;
	(sql as { begin: unknown }).begin = (...args: unknown[]) => {
		const fn = args.at(-1) as (tx: postgres.TransactionSql) => unknown;
		return inSpan(
			"db transaction",
			{ kind: SpanKind.CLIENT, attributes: { "db.system": "postgresql" } },
			() => {
				const traceparent = currentTraceparent();
				return begin(...args.slice(0, -1), async (tx: postgres.TransactionSql) => {
					if (traceparent) await tx`select set_config('herald.traceparent', ${traceparent}, true)`;
					return fn(tx);
				});
			},
		);
	};
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
