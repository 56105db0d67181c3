/** Request and response schemas of sync push and pull (TypeBox, shown in Swagger). */
import { t } from "elysia";
import { JsonInt } from "../http/schema.ts";

export { ErrorBody } from "../auth/model.ts";

const ClientId = (description: string) =>
	t.String({ minLength: 1, maxLength: 100, pattern: "^[\\x21-\\x7E]+$", description });

const ClientGroupId = ClientId(
	"the device's storage; it belongs to the user who first used it (another user's group is 403)",
);

export const Cookie = t.Union([t.String({ minLength: 1, maxLength: 4096 }), t.Null()], {
	description:
		"opaque; a pull's cookie when `hasMore` was false (the client's baseline), or the page cookie of the " +
		"previous page while `hasMore` is true; null = nothing yet (full snapshot)",
	examples: ["42"],
});

export const MUTATION_NAMES = [
	"createContact",
	"updateContact",
	"deleteContact",
	"restoreContact",
	"settleContact",
	"createTransaction",
	"updateTransaction",
	"deleteTransaction",
	"restoreTransaction",
	"createReminder",
	"updateReminder",
	"deleteReminder",
] as const;
export type MutationName = (typeof MUTATION_NAMES)[number];

export const Mutation = t.Object({
	id: JsonInt({
		minimum: 1,
		maximum: Number.MAX_SAFE_INTEGER,
		description: "per client, increasing by 1 from 1; a replayed id is `duplicate`, a gap stops the push",
	}),
	name: t.String({
		minLength: 1,
		maxLength: 64,
		description: `one of ${MUTATION_NAMES.join(", ")}; an unknown name is \`rejected\``,
	}),
	args: t.Record(t.String(), t.Unknown(), {
		description:
			"the REST body of the same operation plus `id` of the row (`contactId` for settleContact); " +
			"creates need a client-chosen UUID v7 `id`. Checked like the REST body: a bad one is `rejected`",
	}),
	base: t.Optional(
		t.Record(t.String(), t.Unknown(), {
			description:
				"updates: the values of the changed fields as the device last saw them. A money field " +
				"(amountMinor/amount, currency, kind, contactId) the server changed meanwhile keeps the server's value " +
				"(`conflict`); other fields are last-write-wins in arrival order",
		}),
	),
});

/** At most this many mutations per push (more is 422): a full push stays well inside BODY_LIMIT_BYTES. */
export const MAX_PUSH_MUTATIONS = 200;

export const PushBody = t.Object({
	clientGroupId: ClientGroupId,
	clientId: ClientId("the client (tab, app instance) inside the group whose mutation ids these are"),
	schemaVersion: t.String({
		minLength: 1,
		maxLength: 32,
		description: "the client's schema; only `1` today",
	}),
	cookie: t.Optional(Cookie),
	mutations: t.Array(Mutation, {
		maxItems: MAX_PUSH_MUTATIONS,
		description: `in id order; at most ${MAX_PUSH_MUTATIONS} per push (send the rest in the next one)`,
	}),
});

export const PatchOp = t.Union([
	t.Object({ op: t.Literal("clear") }),
	t.Object({
		op: t.Literal("put"),
		key: t.String({ description: "`contact/<id>`, `transaction/<id>` or `reminder/<id>`" }),
		value: t.Record(t.String(), t.Unknown(), { description: "the row as the REST API shows it" }),
	}),
	t.Object({ op: t.Literal("del"), key: t.String() }),
]);

const MutationStatus = t.Union(
	[
		t.Literal("applied"),
		t.Literal("duplicate"),
		t.Literal("conflict"),
		t.Literal("rejected"),
		t.Literal("gone"),
	],
	{
		description:
			"applied; duplicate (already applied: nothing done); conflict (applied, but money fields the server " +
			"changed meanwhile kept the server's value, see `conflicts`); rejected (can never apply: consumed, " +
			"`error` is the REST error body); gone (the row is deleted; restore is explicit)",
	},
);

export const MutationResult = t.Object({
	id: t.Integer(),
	status: MutationStatus,
	conflicts: t.Optional(
		t.Array(t.Object({ field: t.String(), server: t.Unknown(), yours: t.Unknown(), base: t.Unknown() })),
	),
	error: t.Optional(
		t.Object({
			status: t.Integer({ description: "the HTTP status REST would answer" }),
			code: t.String(),
			message: t.String(),
			details: t.Optional(t.Unknown()),
		}),
	),
});

export const PushResult = t.Object({
	results: t.Array(MutationResult, {
		description: "one per mutation processed, in order; after a gap the rest are not processed (not listed)",
	}),
	lastMutationIds: t.Record(t.String(), t.Integer(), {
		description: "the pushing client's last mutation id",
	}),
	cookie: t.Union([t.String(), t.Null()], {
		description:
			"the client's new baseline when nothing but this push changed its user's data since the `cookie` it sent " +
			"(apply `patch`, adopt it, and its own writes are never pulled back); null: pull to catch up",
	}),
	patch: t.Array(PatchOp, {
		description:
			"the rows this push changed, as they stand on the server; empty (and `cookie` null) past SYNC_PUSH_MAX_PATCH",
	}),
});

export const PullBody = t.Object({
	clientGroupId: ClientGroupId,
	cookie: t.Optional(Cookie),
	limit: t.Optional(
		t.Integer({
			minimum: 1,
			maximum: 100_000,
			default: 500,
			description: "patch entries per page (capped to SYNC_PULL_MAX_LIMIT)",
		}),
	),
});

export const PullResult = t.Object({
	cookie: t.String({
		description: "adopt it only when `hasMore` is false; while true, send it back for the next page",
	}),
	lastMutationIds: t.Record(t.String(), t.Integer(), {
		description: "the group's clients' last mutation ids, as of the pulled state",
	}),
	patch: t.Array(PatchOp),
	hasMore: t.Boolean({
		description:
			"true: more pages follow (also when rows changed during this pull: it goes on over them); false: adopt `cookie`",
	}),
});

export type PushBody = typeof PushBody.static;
export type PullBody = typeof PullBody.static;
export type PatchOp = typeof PatchOp.static;
export type MutationResult = typeof MutationResult.static;
export type PushResult = typeof PushResult.static;
export type PullResult = typeof PullResult.static;
