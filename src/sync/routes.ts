/**
 * /api/v1/sync/push, /api/v1/sync/pull, the seed's /api/sync/push and
 * /api/sync/pull (same handlers), and the `/ws/sync` poke socket.
 */
import { Elysia } from "elysia";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService, Principal } from "../auth/service.ts";
import { aliasOf } from "../docs/seed-alias.ts";
import { checksBodyNulItself } from "../http/request-context.ts";
import { type RealtimeSockets, TokenQuery } from "../realtime/sockets.ts";
import {
	ErrorBody,
	type PullBody,
	PullResult,
	PullBody as PullSchema,
	type PushBody,
	PushResult,
	PushBody as PushSchema,
} from "./model.ts";
import type { PullService } from "./pull-service.ts";
import type { PushService } from "./push-service.ts";
import { SYNC_TOPIC } from "./topic.ts";

const PUSH_DOC =
	"Each mutation commits in its own transaction together with the client's new last mutation id: `applied`, " +
	"`duplicate` (replayed: nothing done), `conflict` (applied; money fields the server changed meanwhile kept the " +
	"server value), `rejected` (can never apply; consumed, with the REST error body) or `gone` (the row is " +
	"deleted). A gap in the ids stops the push there. A transient failure answers 503 and consumes nothing. Send " +
	"your baseline `cookie`: when nothing else changed your data meanwhile, the response's `cookie` is your new " +
	"baseline and `patch` the server's rows your push changed, so you never pull your own writes back. " +
	"Another user's client group is 403.";
const PULL_DOC =
	"The changes after `cookie` as a patch (`put` the row, `del` a deleted one, `clear` everything first), in pages " +
	"of `limit` read from one consistent cut. While `hasMore`, send the returned cookie back for the next page; " +
	"adopt it (and `lastMutationIds`) only when `hasMore` is false. No cookie, an unknown one, or one older than " +
	"the purged tombstones (SYNC_TOMBSTONE_RETENTION_DAYS) gets `clear` plus a full snapshot. The cookie follows " +
	"commit order: a change that commits later is never skipped.";

interface Ctx<B> {
	principal: Principal;
	body: B;
}

export const PUSH_PATHS = ["/api/v1/sync/push", "/api/sync/push"];

export function syncRoutes(deps: {
	auth: AuthService;
	push: PushService;
	pull: PullService;
	sockets: RealtimeSockets;
}) {
	checksBodyNulItself(...PUSH_PATHS);
	const push = {
		handle: ({ principal, body }: Ctx<PushBody>) => deps.push.push(principal.user.id, body),
		options: {
			auth: true as const,
			body: PushSchema,
			response: { 200: PushResult, 401: ErrorBody, 403: ErrorBody, 422: ErrorBody, 503: ErrorBody },
		},
	};
	const pull = {
		handle: ({ principal, body }: Ctx<PullBody>) => deps.pull.pull(principal.user.id, body),
		options: {
			auth: true as const,
			body: PullSchema,
			response: { 200: PullResult, 401: ErrorBody, 403: ErrorBody, 422: ErrorBody },
		},
	};
	const pushSummary = "Push a client's queued mutations (contacts, transactions, reminders)";
	const pullSummary = "Pull the changes since a cookie, in pages from one consistent cut";
	const canonical = new Elysia({ prefix: "/api/v1/sync", detail: { tags: ["sync"] } })
		.use(authPlugin(deps.auth))
		.post("/push", push.handle, { ...push.options, detail: { summary: pushSummary, description: PUSH_DOC } })
		.post("/pull", pull.handle, { ...pull.options, detail: { summary: pullSummary, description: PULL_DOC } });
	const seed = new Elysia({ prefix: "/api/sync" })
		.use(authPlugin(deps.auth))
		.post("/push", push.handle, { ...push.options, detail: aliasOf("POST /api/v1/sync/push", pushSummary) })
		.post("/pull", pull.handle, { ...pull.options, detail: aliasOf("POST /api/v1/sync/pull", pullSummary) });
	const socket = new Elysia({ name: "herald/sync-socket", detail: { tags: ["realtime"] } })
		.use(deps.sockets.plugin)
		.ws("/ws/sync", {
			socket: true,
			query: TokenQuery,
			detail: {
				summary:
					'WebSocket: `{ type: "poke", cookie }` after every commit that changes the caller\'s synced rows; pull when newer',
			},
			open: (ws) => deps.sockets.open(ws, SYNC_TOPIC, ws.data.principal.user.id),
			close: (ws) => deps.sockets.close(ws),
		});
	return new Elysia().use(canonical).use(seed).use(socket);
}
