/**
 * What the HTTP edge says about one pushed mutation, so that sync answers
 * exactly as REST does: its arguments checked with the REST body's schema
 * (the same `validation_failed` body), the REST error body of a mutation
 * that can never apply, and the 503 of a transient failure. Handed to the
 * push service by the feature (services do not import the HTTP layer).
 */
import { Value } from "@sinclair/typebox/value";
import { DomainError, Invalid } from "../errors.ts";
import { httpStatusOf } from "../http/error-map.ts";
import { HttpError, ValidationFailed } from "../http/errors.ts";
import { NUL_MESSAGE, nulPath } from "../http/request-context.ts";
import { describe as describeRule } from "../http/validation.ts";
import { saneDates } from "./dates.ts";
import type { MutationName, MutationResult } from "./model.ts";
import { MUTATIONS } from "./mutations.ts";

export type Rejection = NonNullable<MutationResult["error"]>;

export interface PushEdge {
	/** The mutation's definition and its arguments (cleaned of unknown fields); throws what REST would answer. */
	check(m: { name: string; args: Record<string, unknown> }): {
		def: (typeof MUTATIONS)[MutationName];
		args: Record<string, unknown>;
	};
	/** The error body of a mutation that is consumed; undefined for a transient failure (retried). */
	reject(error: unknown): Rejection | undefined;
	unavailable(): Error;
}

export const pushEdge: PushEdge = {
	check(m) {
		const def = MUTATIONS[m.name as MutationName];
		if (!def) throw new Invalid(`unknown mutation ${m.name}`, { field: "name", reason: "unknown_mutation" });
		// The edge leaves a push's body to this check (checksBodyNulItself): one bad mutation, not the queue.
		const nul = nulPath(m.args, "") ?? nulPath((m as { base?: unknown }).base, "");
		if (nul !== undefined) throw new ValidationFailed("body", [{ path: nul || "/", message: NUL_MESSAGE }]);
		if (!Value.Check(def.args, m.args)) {
			const seen = new Set<string>();
			const issues = [...Value.Errors(def.args, m.args)]
				.filter((e) => !seen.has(e.path) && seen.add(e.path))
				.map((e) => ({ path: e.path || "/", message: describeRule(e.schema as never) }));
			throw new ValidationFailed("body", issues);
		}
		const args = Value.Clean(def.args, structuredClone(m.args)) as Record<string, unknown>;
		saneDates(args);
		return { def, args };
	},
	reject(error) {
		if (error instanceof DomainError) {
			const body = { status: httpStatusOf(error).status, code: error.code, message: error.message };
			return error.details === undefined ? body : { ...body, details: error.details };
		}
		if (error instanceof HttpError && error.status >= 400 && error.status < 500)
			return { status: error.status, code: error.code, message: error.message, details: error.details };
		if (transient(error)) return undefined;
		// Data exceptions and integrity violations no service mapped: the same input fails every time.
		const code = (error as { code?: unknown })?.code;
		if (typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code))
			return { status: 422, code: "unprocessable", message: "the database refused the change" };
		// Anything else is a bug the same mutation would hit again: consumed (and logged), not retried forever.
		return { status: 500, code: "internal", message: "internal server error" };
	},
	unavailable: () =>
		new HttpError(503, "unavailable", "the push could not be applied now; retry it", undefined, {
			"retry-after": "1",
		}),
};

/** SQLSTATE classes that say "not now": connection (08), rollback (40), resources (53), operator (57), system (58). */
const TRANSIENT_SQLSTATE = /^(08|40|53|57|58)[0-9A-Z]{3}$|^55P03$/;
/** postgres.js and socket errors of a lost or unreachable database. */
const TRANSIENT_CONNECTION =
	/^(CONNECTION_(CLOSED|ENDED|DESTROYED)|CONNECT_TIMEOUT|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/;

/** A failure that another try may not hit: the mutation is not consumed and the push answers 503. */
export function transient(error: unknown): boolean {
	if (error instanceof HttpError) return error.status === 503;
	const e = error as { code?: unknown; errno?: unknown } | undefined;
	for (const code of [e?.code, e?.errno])
		if (typeof code === "string" && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_CONNECTION.test(code)))
			return true;
	return false;
}
