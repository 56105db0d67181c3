/**
 * An open transaction handed to a domain service as its `sql`: the service's
 * own `sql.begin(…)` becomes a savepoint of it, so the service's work commits
 * (or not) with the caller's transaction — one model, REST and sync alike.
 */
import type { TransactionSql } from "postgres";
import type { Sql } from "../infra/db/sql.ts";

export function scopedSql(tx: TransactionSql): Sql {
	return new Proxy(tx, {
		get(target, prop, receiver) {
			if (prop === "begin")
				return (...args: unknown[]) => {
					const work = args.find((a) => typeof a === "function") as (t: TransactionSql) => unknown;
					return target.savepoint((sp) => work(sp));
				};
			return Reflect.get(target, prop, receiver);
		},
	}) as unknown as Sql;
}
