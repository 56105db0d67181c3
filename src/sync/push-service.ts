/**
 * Push: each mutation is one database transaction that locks the client's
 * row, checks its id against the client's last mutation id (older or equal:
 * `duplicate`, nothing done; a gap stops the push), runs the mutation through
 * the domain services in a savepoint, and records the new last mutation id
 * with the user's next version. A mutation that can never apply (validation,
 * not found, forbidden, a conflict the REST API answers 4xx) is rolled back
 * to the savepoint but still consumed (`rejected`, with the REST error body)
 * so it cannot block the queue. Anything else (database down, deadlock)
 * rolls the whole transaction back and the push answers 503: nothing of that
 * mutation is consumed, the client retries.
 */
import { Value } from "@sinclair/typebox/value";
import { DomainError, Forbidden, Invalid } from "../errors.ts";
import { httpStatusOf } from "../http/error-map.ts";
import { HttpError, ValidationFailed } from "../http/errors.ts";
import { describe as describeRule } from "../http/validation.ts";
import type { Sql } from "../infra/db/sql.ts";
import type { Logger } from "../infra/log.ts";
import { baselineCookie, parseCookie } from "./cookie.ts";
import { saneDates } from "./dates.ts";
import type { MutationName, MutationResult, PatchOp, PushBody, PushResult } from "./model.ts";
import { MUTATIONS, type Outcome } from "./mutations.ts";
import {
	claimGroup,
	lastMutationId,
	lockClient,
	patchFor,
	rowsAtVersion,
	setLastMutationId,
	stampNow,
	takeVersion,
} from "./repository.ts";
import { scopedSql } from "./scoped-sql.ts";
import type { SyncSettings } from "./settings.ts";

type Mutation = PushBody["mutations"][number];
type Rejection = NonNullable<MutationResult["error"]>;

/** The REST error body of what can never apply; undefined for a transient failure. */
export function rejectionOf(error: unknown): Rejection | undefined {
	if (error instanceof DomainError) {
		const body = { status: httpStatusOf(error).status, code: error.code, message: error.message };
		return error.details === undefined ? body : { ...body, details: error.details };
	}
	if (error instanceof HttpError && error.status >= 400 && error.status < 500)
		return { status: error.status, code: error.code, message: error.message, details: error.details };
	// Data exceptions and integrity violations the services did not map: the same input fails every time.
	const code = (error as { code?: unknown })?.code;
	if (typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code))
		return { status: 422, code: "unprocessable", message: "the database refused the change" };
	return undefined;
}

function checkedArgs(m: Mutation) {
	const def = MUTATIONS[m.name as MutationName];
	if (!def) throw new Invalid(`unknown mutation ${m.name}`, { field: "name", reason: "unknown_mutation" });
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
}

interface Applied {
	result: MutationResult;
	version?: number;
	patch?: PatchOp[];
}

export function createPushService(deps: { sql: Sql; log: Logger; settings: SyncSettings }) {
	const { sql, log } = deps;

	async function one(ownerId: string, body: PushBody, m: Mutation): Promise<Applied | "gap"> {
		return (await sql.begin(async (tx) => {
			const last = await lockClient(tx, body.clientGroupId, body.clientId);
			if (m.id <= last) return { result: { id: m.id, status: "duplicate" } };
			if (m.id > last + 1) return "gap";
			let outcome: Outcome | { status: "rejected"; error: Rejection };
			try {
				outcome = await tx.savepoint(async (sp) => {
					const { def, args } = checkedArgs(m);
					return def.apply({ ownerId, sql: scopedSql(sp), tx: sp, base: m.base }, args);
				});
			} catch (error) {
				const rejection = rejectionOf(error);
				if (!rejection) throw error;
				outcome = { status: "rejected", error: rejection };
			}
			const version = await takeVersion(tx, ownerId);
			await setLastMutationId(tx, body.clientGroupId, body.clientId, m.id, version);
			await stampNow(tx);
			const patch = await patchFor(tx, ownerId, await rowsAtVersion(tx, ownerId, version));
			return { result: { id: m.id, ...outcome }, version, patch };
		})) as Applied | "gap";
	}

	return {
		async push(ownerId: string, body: PushBody): Promise<PushResult> {
			if (body.schemaVersion !== "1")
				throw new Invalid("schemaVersion must be 1", { field: "schemaVersion", reason: "unsupported" });
			if (body.mutations.length > deps.settings.pushMaxMutations)
				throw new Invalid(`at most ${deps.settings.pushMaxMutations} mutations per push`, {
					field: "mutations",
					reason: "too_many",
				});
			if ((await claimGroup(sql, body.clientGroupId, ownerId)) !== ownerId)
				throw new Forbidden("this client group belongs to another user");
			const sent = parseCookie(body.cookie);
			let cursor: number | null = sent.kind === "baseline" ? sent.version : null;
			const results: MutationResult[] = [];
			const patch: PatchOp[] = [];
			for (const m of body.mutations) {
				let done: Applied | "gap";
				try {
					done = await one(ownerId, body, m);
				} catch (error) {
					log.warn("sync push: transient failure, not consumed", { mutationId: m.id, error });
					throw new HttpError(503, "unavailable", "the push could not be applied now; retry it", undefined, {
						"retry-after": "1",
					});
				}
				if (done === "gap") break;
				results.push(done.result);
				if (done.version !== undefined) {
					// The cookie moves only while nothing but this push wrote the user's data.
					cursor = cursor !== null && done.version === cursor + 1 ? done.version : null;
					patch.push(...done.patch!);
				}
			}
			const lastId = await lastMutationId(sql, body.clientGroupId, body.clientId);
			return {
				results,
				lastMutationIds: { [body.clientId]: lastId },
				cookie: cursor === null ? null : baselineCookie(cursor),
				patch,
			};
		},
	};
}

export type PushService = ReturnType<typeof createPushService>;
