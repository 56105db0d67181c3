/**
 * Push: each mutation is one database transaction that locks the client's
 * row, checks its id against the client's last mutation id (older or equal:
 * `duplicate`, nothing done; a gap stops the push), runs the mutation through
 * the domain services in a savepoint, and records the new last mutation id
 * with the user's next version. A mutation that can never apply (validation,
 * not found, forbidden, a conflict the REST API answers 4xx) is rolled back
 * to the savepoint but still consumed (`rejected`, with the REST error body)
 * so it cannot block the queue; so is one that fails for a reason no retry
 * changes (a bug: `rejected` with a 500 body, logged). Only a transient
 * failure (edge.ts `transient`: database unreachable, deadlock, lock or
 * statement timeout, a 503) rolls the whole transaction back and the push
 * answers 503: nothing of that mutation is consumed, the client retries.
 */
import { Forbidden, Invalid } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import type { Logger } from "../infra/log.ts";
import { counter } from "../infra/metrics.ts";
import { baselineCookie, parseCookie } from "./cookie.ts";
import type { PushEdge, Rejection } from "./edge.ts";
import type { MutationResult, PatchOp, PushBody, PushResult } from "./model.ts";
import type { Outcome } from "./mutations.ts";
import {
	claimGroup,
	lastMutationId,
	lockClient,
	patchFor,
	rowsAtVersion,
	setLastMutationId,
	stampNow,
} from "./repository.ts";
import { scopedSql } from "./scoped-sql.ts";
import type { SyncSettings } from "./settings.ts";

type Mutation = PushBody["mutations"][number];

interface Applied {
	result: MutationResult;
	version?: number;
	patch?: PatchOp[];
}

const syncPushes = counter("herald_sync_pushes_total", "Sync pushes answered");
const syncPushFailures = counter(
	"herald_sync_push_failures_total",
	"Sync pushes stopped by a transient failure (answered 503, nothing consumed)",
);
const syncMutations = counter(
	"herald_sync_mutations_total",
	"Pushed mutations processed, by status (applied | duplicate | conflict | rejected …)",
	["status"],
);

export function createPushService(deps: { sql: Sql; log: Logger; edge: PushEdge; settings: SyncSettings }) {
	const { sql, log, edge } = deps;
	const maxPatch = deps.settings.pushMaxPatch;

	async function one(
		ownerId: string,
		body: PushBody,
		m: Mutation,
		withPatch: boolean,
	): Promise<Applied | "gap"> {
		return (await sql.begin(async (tx) => {
			const last = await lockClient(tx, body.clientGroupId, body.clientId);
			if (m.id <= last) return { result: { id: m.id, status: "duplicate" } };
			if (m.id > last + 1) return "gap";
			let outcome: Outcome | { status: "rejected"; error: Rejection };
			try {
				outcome = await tx.savepoint(async (sp) => {
					const { def, args } = edge.check(m);
					return def.apply({ ownerId, sql: scopedSql(sp), tx: sp, base: m.base }, args);
				});
			} catch (error) {
				const rejection = edge.reject(error);
				if (!rejection) throw error;
				if (rejection.status >= 500)
					log.error("sync push: mutation failed, consumed", { mutationId: m.id, error });
				outcome = { status: "rejected", error: rejection };
			}
			const version = await setLastMutationId(tx, body.clientGroupId, body.clientId, m.id, ownerId);
			await stampNow(tx);
			const patch = withPatch ? await patchFor(tx, ownerId, await rowsAtVersion(tx, ownerId, version)) : [];
			return { result: { id: m.id, ...outcome }, version, patch };
		})) as Applied | "gap";
	}

	return {
		async push(ownerId: string, body: PushBody): Promise<PushResult> {
			if (body.schemaVersion !== "1")
				throw new Invalid("schemaVersion must be 1", { field: "schemaVersion", reason: "unsupported" });
			if ((await claimGroup(sql, body.clientGroupId, ownerId)) !== ownerId)
				throw new Forbidden("this client group belongs to another user");
			const sent = parseCookie(body.cookie);
			let cursor: number | null = sent.kind === "baseline" ? sent.version : null;
			const results: MutationResult[] = [];
			const patch: PatchOp[] = [];
			let overflow = false;
			for (const m of body.mutations) {
				let done: Applied | "gap";
				try {
					done = await one(ownerId, body, m, !overflow);
				} catch (error) {
					log.warn("sync push: transient failure, not consumed", { mutationId: m.id, error });
					syncPushFailures.inc();
					throw edge.unavailable();
				}
				if (done === "gap") break;
				results.push(done.result);
				if (done.version !== undefined) {
					// The cookie moves only while nothing but this push wrote the user's data.
					cursor = cursor !== null && done.version === cursor + 1 ? done.version : null;
					patch.push(...done.patch!);
					// Too big for one response: the device pulls it in pages instead.
					if (patch.length > maxPatch) overflow = true;
				}
			}
			const lastId = await lastMutationId(sql, body.clientGroupId, body.clientId);
			for (const r of results) syncMutations.inc({ status: r.status });
			syncPushes.inc();
			return {
				results,
				lastMutationIds: { [body.clientId]: lastId },
				cookie: cursor === null || overflow ? null : baselineCookie(cursor),
				patch: overflow ? [] : patch,
			};
		},
	};
}

export type PushService = ReturnType<typeof createPushService>;
