/**
 * Ingestion: a key names its source; a batch is checked item by item (bad
 * items are reported, good ones stored), rate-limited per key with effect's
 * `RateLimiter` on Redis, and stored in one transaction.
 */
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Duration } from "effect";
import { consumeTokens } from "../auth/rate-limit.ts";
import { Invalid, RateLimited, Unauthenticated } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import type { HeraldRuntime } from "../infra/effect-runtime.ts";
import type { Logger } from "../infra/log.ts";
import { insertEvents, type NewEvent } from "./events-repository.ts";
import { hashIngestionKey, ingestionKeyOf } from "./keys.ts";
import type { TriggerSettings } from "./settings.ts";
import { EventInput, type IngestResult } from "./sources-model.ts";
import { sourceByKeyHash } from "./sources-repository.ts";

export interface IngestSource {
	id: string;
	owner_id: string;
}

export interface IngestService {
	/** The source of an `Authorization: Bearer hik_…` header; 401 otherwise (never echoing the key). */
	authenticate(header: string | null | undefined): Promise<IngestSource>;
	ingest(source: IngestSource, body: unknown): Promise<IngestResult>;
}

type Item = IngestResult["results"][number];

export function createIngestService(deps: {
	sql: Sql;
	settings: TriggerSettings;
	runtime: HeraldRuntime;
	log: Logger;
}): IngestService {
	const { sql, settings, runtime, log } = deps;
	const window = Duration.minutes(1);
	const limit = async (source: IngestSource, tokens: number) => {
		const consumed = await consumeTokens(runtime, {
			key: `ingest:${source.id}`,
			limit: settings.ingestEventsPerMinute,
			window,
			tokens,
		});
		if (consumed.ok === false) throw new RateLimited(consumed.retryAfterSeconds);
		if (consumed.ok === "unavailable")
			log.warn("ingest rate limiter unavailable, allowing request", { sourceId: source.id });
	};
	return {
		async authenticate(header) {
			const key = ingestionKeyOf(header);
			if (!key) throw new Unauthenticated("token_missing", "an ingestion key is required (Bearer hik_…)");
			const source = await sourceByKeyHash(sql, hashIngestionKey(key));
			if (!source) {
				log.info("ingestion key refused (unknown or revoked)");
				throw new Unauthenticated("token_invalid", "unknown or revoked ingestion key");
			}
			return source;
		},
		async ingest(source, body) {
			const batch = isBatch(body);
			const items: unknown[] = batch ? (body as { events: unknown[] }).events : [body];
			if (items.length > settings.ingestMaxBatch)
				throw new Invalid(`at most ${settings.ingestMaxBatch} events per request`, { field: "events" });
			await limit(source, items.length);
			const results: Item[] = [];
			const good: { index: number; event: NewEvent }[] = [];
			items.forEach((item, index) => {
				const checked = checkItem(item, settings.ingestMaxDataBytes);
				if ("error" in checked) results[index] = { index, status: "rejected", error: checked.error };
				else good.push({ index, event: checked.event });
			});
			if (!batch && good.length === 0) {
				const error = results[0]!.error!;
				throw new Invalid(error.message, { field: error.field });
			}
			const stored = await insertEvents(
				sql,
				source,
				good.map((g) => g.event),
			);
			const seen = new Set<string>();
			for (const { index, event } of good) {
				const row = stored.get(event.externalId)!;
				const duplicate = row.duplicate || seen.has(event.externalId);
				seen.add(event.externalId);
				results[index] = { index, status: duplicate ? "duplicate" : "accepted", id: row.id };
			}
			const count = (s: Item["status"]) => results.filter((r) => r.status === s).length;
			const summary = {
				accepted: count("accepted"),
				duplicates: count("duplicate"),
				rejected: count("rejected"),
			};
			log.debug("ingested", { sourceId: source.id, ...summary });
			return { ...summary, results };
		},
	};
}

const LONE_SURROGATE =
	/\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}/;

/** The item schema compiled once (Value.Check interprets the schema on every call). */
const EVENT = TypeCompiler.Compile(EventInput);

const isBatch = (body: unknown): boolean =>
	typeof body === "object" && body !== null && Array.isArray((body as { events?: unknown }).events);

function checkItem(
	item: unknown,
	maxDataBytes: number,
): { event: NewEvent } | { error: NonNullable<Item["error"]> } {
	if (!EVENT.Check(item)) {
		const first = EVENT.Errors(item).First();
		const field = first?.path.replace(/^\//, "").replaceAll("/", ".") || undefined;
		return { error: { code: "invalid_event", message: first?.message ?? "not an event", field } };
	}
	const data = JSON.stringify(item.data);
	if (Buffer.byteLength(data) > maxDataBytes)
		return {
			error: { code: "data_too_large", message: `data exceeds ${maxDataBytes} bytes`, field: "data" },
		};
	// jsonb refuses NUL characters and unpaired surrogates (JSON.stringify escapes both).
	if (data.includes("\\u0000") || LONE_SURROGATE.test(data))
		return {
			error: { code: "invalid_event", message: "data holds a NUL or an unpaired surrogate", field: "data" },
		};
	if (item.externalId.includes("\0") || !item.externalId.isWellFormed())
		return {
			error: {
				code: "invalid_event",
				message: "externalId holds a NUL or an unpaired surrogate",
				field: "externalId",
			},
		};
	let occurredAt: string | null = null;
	if (item.occurredAt !== undefined) {
		const at = Date.parse(item.occurredAt);
		if (Number.isNaN(at))
			return { error: { code: "invalid_event", message: "occurredAt is not a date", field: "occurredAt" } };
		occurredAt = new Date(at).toISOString();
	}
	return { event: { type: item.type, externalId: item.externalId, occurredAt, data } };
}
