/**
 * /api/v1/sources (a user's event sources and their ingestion keys) and
 * /api/v1/ingest (machines, with a key instead of a user token). Another
 * user's source answers 404.
 */
import { Elysia, t } from "elysia";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService } from "../auth/service.ts";
import { checksBodyNulItself } from "../http/request-context.ts";
import type { IngestService, IngestSource } from "./ingest.ts";
import {
	CreatedSource,
	CreateSourceBody,
	ErrorBody,
	EventListQuery,
	EventPage,
	IdParams,
	IngestBody,
	IngestResult,
	SourceListQuery,
	SourcePage,
	SourceView,
} from "./sources-model.ts";
import type { SourceService } from "./sources-service.ts";

const NoContent = t.Void({ description: "done, no body" });

export function sourceRoutes(auth: AuthService, sources: SourceService) {
	const one = { auth: true as const, params: IdParams };
	return new Elysia({ prefix: "/api/v1/sources", detail: { tags: ["triggers"] } })
		.use(authPlugin(auth))
		.post(
			"",
			async ({ principal, body, set }) => {
				const created = await sources.create(principal.user.id, body.name);
				set.status = 201;
				return created;
			},
			{
				auth: true,
				body: CreateSourceBody,
				response: { 201: CreatedSource, 401: ErrorBody, 422: ErrorBody },
				detail: {
					summary: "Create an event source and its ingestion key",
					description: "The key (`hik_…`) is in this response only; Herald keeps its SHA-256 hash.",
				},
			},
		)
		.get("", ({ principal, query }) => sources.list(principal.user.id, query), {
			auth: true,
			query: SourceListQuery,
			response: { 200: SourcePage, 401: ErrorBody, 422: ErrorBody },
			detail: { summary: "The caller's sources, oldest first" },
		})
		.get("/:id", ({ principal, params }) => sources.get(principal.user.id, params.id), {
			...one,
			response: { 200: SourceView, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
			detail: { summary: "One source" },
		})
		.post("/:id/revoke", ({ principal, params }) => sources.revoke(principal.user.id, params.id), {
			...one,
			response: { 200: SourceView, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
			detail: { summary: "Revoke the source's key (idempotent): ingestion with it is 401 from now on" },
		})
		.delete(
			"/:id",
			async ({ principal, params, set }) => {
				await sources.remove(principal.user.id, params.id);
				set.status = 204;
			},
			{
				...one,
				response: { 204: NoContent, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
				detail: { summary: "Delete a source and its stored events" },
			},
		)
		.get(
			"/:id/events",
			({ principal, params, query }) => sources.events(principal.user.id, params.id, query),
			{
				...one,
				query: EventListQuery,
				response: { 200: EventPage, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
				detail: { summary: "The source's stored events, in ingestion (commit) order" },
			},
		);
}

export function ingestRoutes(ingest: IngestService) {
	// The key is checked in `transform`, before validation, as the user auth plugin does.
	const sources = new WeakMap<Request, IngestSource>();
	// Each item is checked for NUL characters on its own (a bad item is rejected, the others stored),
	// so the request-wide walk over every key and value of the batch is skipped.
	checksBodyNulItself("/api/v1/ingest");
	return new Elysia({ prefix: "/api/v1/ingest", detail: { tags: ["triggers"] } }).post(
		"",
		({ request, body }) => ingest.ingest(sources.get(request)!, body),
		{
			async transform({ request, headers }) {
				sources.set(request, await ingest.authenticate(headers.authorization));
			},
			body: IngestBody,
			response: { 200: IngestResult, 401: ErrorBody, 413: ErrorBody, 422: ErrorBody, 429: ErrorBody },
			detail: {
				summary: "Ingest one event or a batch (machines: `Authorization: Bearer hik_…`)",
				description:
					"One event, or `{events: [...]}` with up to INGEST_MAX_BATCH. Each item is checked on its own: " +
					"bad ones are `rejected` with a reason, good ones stored. (source, externalId) is stored once " +
					"while the event is kept (INGEST_RETENTION_DAYS): a replay is `duplicate`. A single bad event is 422.",
				security: [{ ingestKey: [] }],
			},
		},
	);
}
