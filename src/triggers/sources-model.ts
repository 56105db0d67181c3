/** Request and response schemas of sources and ingestion (TypeBox, shown in Swagger). */
import { t } from "elysia";
import { DateTime, Limit, Offset } from "../http/schema.ts";

export { ErrorBody } from "../auth/model.ts";

export const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
export const Uuid = t.String({ format: "uuid", pattern: UUID_PATTERN });
export const IdParams = t.Object({ id: Uuid });

export const SourceView = t.Object({
	id: t.String({ format: "uuid" }),
	name: t.String(),
	keyPrefix: t.String({ description: "the key's first characters, to tell keys apart (never the key)" }),
	revokedAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
	lastUsedAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
	createdAt: t.String({ format: "date-time" }),
});
export const CreatedSource = t.Composite([
	SourceView,
	t.Object({ key: t.String({ description: "the ingestion key: shown this once, stored only as a hash" }) }),
]);
export const CreateSourceBody = t.Object({
	name: t.String({ minLength: 1, maxLength: 100, pattern: "\\S", description: "not blank" }),
});
export const SourceListQuery = t.Object({ limit: Limit(100, 20), offset: Offset });
export const SourcePage = t.Object({ items: t.Array(SourceView), total: t.Integer() });

const TYPE_PATTERN = "^[A-Za-z0-9_.:/-]+$";
/** One event as ingested; in a batch each item is checked against this on its own. */
export const EventInput = t.Object(
	{
		type: t.String({ minLength: 1, maxLength: 200, pattern: TYPE_PATTERN, examples: ["agent.feedback"] }),
		externalId: t.String({
			minLength: 1,
			maxLength: 200,
			description: "the sender's id: (source, externalId) is ingested once while the event is kept",
		}),
		occurredAt: t.Optional(DateTime("when it happened (default: when it was received)")),
		data: t.Record(t.String(), t.Unknown(), { description: "a JSON object, at most INGEST_MAX_DATA_BYTES" }),
	},
	{ additionalProperties: false },
);
export const IngestBody = t.Union([
	EventInput,
	t.Object(
		{
			events: t.Array(t.Unknown(), {
				minItems: 1,
				maxItems: 1000,
				description: "a batch (up to INGEST_MAX_BATCH); each item is an event, checked on its own",
			}),
		},
		{ additionalProperties: false },
	),
]);
const ItemResult = t.Object({
	index: t.Integer(),
	status: t.Union([t.Literal("accepted"), t.Literal("duplicate"), t.Literal("rejected")]),
	id: t.Optional(t.String({ format: "uuid" })),
	error: t.Optional(t.Object({ code: t.String(), message: t.String(), field: t.Optional(t.String()) })),
});
export const IngestResult = t.Object({
	accepted: t.Integer(),
	duplicates: t.Integer(),
	rejected: t.Integer(),
	results: t.Array(ItemResult),
});

export const EventView = t.Object({
	id: t.String({ format: "uuid" }),
	seq: t.Integer(),
	sourceId: t.String({ format: "uuid" }),
	type: t.String(),
	externalId: t.String(),
	occurredAt: t.String({ format: "date-time" }),
	receivedAt: t.String({ format: "date-time" }),
	data: t.Record(t.String(), t.Unknown()),
});
export const EventListQuery = t.Object({
	limit: Limit(500, 50),
	type: t.Optional(t.String({ minLength: 1, maxLength: 200 })),
	sourceId: t.Optional(Uuid),
	afterSeq: t.Optional(
		t.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: "keyset: events after this seq" }),
	),
});
export const EventPage = t.Object({ items: t.Array(EventView) });

export type SourceView = typeof SourceView.static;
export type EventInput = typeof EventInput.static;
export type IngestResult = typeof IngestResult.static;
export type EventView = typeof EventView.static;
