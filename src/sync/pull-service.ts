/**
 * Pull: the user's changes after the client's cookie, in pages. The first
 * page fixes the version bound (the user's current version, read in a
 * REPEATABLE READ snapshot together with the group's last mutation ids);
 * later pages read up to the same bound. A row changed meanwhile moves above
 * the bound (it may not have been sent yet), so the last page of a pass
 * checks the user's version: if it moved, the pull goes on (`hasMore`) with
 * a pass over (old bound, new bound] and the lastMutationIds read with the
 * new bound. The client adopts a cookie only after a pass in which nothing
 * moved: its state is then the server's at that cookie. No cookie, an
 * unknown one, one from the future, or one older than the purged tombstones:
 * `clear` and a full snapshot of the live rows.
 */
import { Forbidden } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import { baselineCookie, type PageState, pageCookie, parseCookie } from "./cookie.ts";
import type { PatchOp, PullBody, PullResult } from "./model.ts";
import {
	changedRows,
	claimGroup,
	groupMutationIds,
	patchFor,
	versionAndMutationIds,
	versionState,
} from "./repository.ts";
import type { SyncSettings } from "./settings.ts";

export const DEFAULT_PULL_LIMIT = 500;

export function createPullService(deps: { sql: Sql; settings: SyncSettings }) {
	const { sql } = deps;
	return {
		async pull(ownerId: string, body: PullBody): Promise<PullResult> {
			if ((await claimGroup(sql, body.clientGroupId, ownerId)) !== ownerId)
				throw new Forbidden("this client group belongs to another user");
			const limit = Math.min(body.limit ?? DEFAULT_PULL_LIMIT, deps.settings.pullMaxLimit);
			const cookie = parseCookie(body.cookie);
			if (cookie.kind === "baseline") {
				// Nothing new (the steady state): one statement, no transaction.
				const now = await versionAndMutationIds(sql, ownerId, body.clientGroupId);
				if (now.version === cookie.version && cookie.version >= now.purgedThrough)
					return { cookie: body.cookie!, lastMutationIds: now.lastMutationIds, patch: [], hasMore: false };
			}
			return (await sql.begin("isolation level repeatable read read only", async (tx) => {
				const state = await versionState(tx, ownerId);
				const fresh = async (from: number, snapshot: boolean): Promise<PageState> => ({
					from,
					bound: state.version,
					after: null,
					snapshot,
					lastMutationIds: await groupMutationIds(tx, body.clientGroupId),
				});
				let page: PageState;
				if (
					cookie.kind === "page" &&
					cookie.state.bound <= state.version &&
					(cookie.state.snapshot || cookie.state.from >= state.purgedThrough)
				)
					page = cookie.state;
				else if (
					cookie.kind === "baseline" &&
					cookie.version <= state.version &&
					cookie.version >= state.purgedThrough
				)
					page = await fresh(cookie.version, false);
				else page = await fresh(0, true);
				const clear = page.snapshot && page.after === null;
				const rows = await changedRows(tx, ownerId, {
					from: page.from,
					bound: page.bound,
					after: page.after,
					liveOnly: page.snapshot,
					limit: limit + 1,
				});
				const hasMore = rows.length > limit;
				const sent = hasMore ? rows.slice(0, limit) : rows;
				const patch: PatchOp[] = [
					...(clear ? [{ op: "clear" as const }] : []),
					...(await patchFor(tx, ownerId, sent)),
				];
				const last = sent.at(-1);
				if (hasMore)
					return {
						cookie: pageCookie({ ...page, after: [last!.version, last!.entity, last!.id] }),
						lastMutationIds: page.lastMutationIds,
						patch,
						hasMore,
					};
				if (state.version > page.bound) {
					// Writes came in since the bound was fixed: a row not sent yet may have moved above it.
					// The pass goes on over (bound, now] before the client adopts a cookie.
					const next = await fresh(page.bound, false);
					return { cookie: pageCookie(next), lastMutationIds: next.lastMutationIds, patch, hasMore: true };
				}
				return { cookie: baselineCookie(page.bound), lastMutationIds: page.lastMutationIds, patch, hasMore };
			})) as PullResult;
		},
	};
}

export type PullService = ReturnType<typeof createPullService>;
