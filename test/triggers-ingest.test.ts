/**
 * Sources and ingestion over real PostgreSQL and Redis: the key is shown
 * once and stored hashed, revocation, per-item results in a batch (bad items
 * rejected, good ones stored), (source, externalId) dedupe, the `new_event`
 * NOTIFY, the per-key rate limit (effect's RateLimiter on Redis), retention
 * in the daily cleanup, BOLA on every route, and the key never in a log line.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSessionConnection } from "../src/infra/db/sql.ts";
import { createLogger } from "../src/infra/log.ts";
import { purgeEvents } from "../src/triggers/events-repository.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type Registered, register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

let t: TestApp;
let alice: Registered;
let mallory: Registered;

beforeAll(async () => {
	t = await startTestApp({ INGEST_MAX_DATA_BYTES: "2048", INGEST_EVENTS_PER_MINUTE: "50" });
	alice = await register(t);
	mallory = await register(t);
});
afterAll(async () => {
	await t.stop();
});

const createSource = async (token: string, name = "sensor") => {
	const res = await t.request("POST", "/api/v1/sources", { token, body: { name } });
	expect(res.status).toBe(201);
	return res.body as { id: string; key: string; keyPrefix: string };
};
const ingest = (key: string, body: unknown) =>
	t.request("POST", "/api/v1/ingest", { body, headers: { authorization: `Bearer ${key}` } });

describe("sources", () => {
	test("the key is shown once, stored as a hash, never listed", async () => {
		const source = await createSource(alice.accessToken);
		expect(source.key).toMatch(/^hik_[A-Za-z0-9_-]{43}$/);
		expect(source.key.startsWith(source.keyPrefix)).toBe(true);
		const [row] = await t.db.sql`select key_hash from event_sources where id = ${source.id}`;
		expect(Buffer.from(row!.key_hash).toString("hex")).toBe(
			new Bun.CryptoHasher("sha256").update(source.key).digest("hex"),
		);
		const dump = JSON.stringify(await t.db.sql`select * from event_sources`);
		expect(dump).not.toContain(source.key);
		const list = await t.request("GET", "/api/v1/sources", { token: alice.accessToken });
		expect(list.status).toBe(200);
		expect(JSON.stringify(list.body)).not.toContain(source.key);
		expect(list.body.items.map((s: { id: string }) => s.id)).toContain(source.id);
	});

	test("a revoked key is refused; ingesting needs a key, not a user token", async () => {
		const source = await createSource(alice.accessToken);
		expect((await ingest(source.key, { type: "a", externalId: "1", data: {} })).status).toBe(200);
		const used = await t.request("GET", `/api/v1/sources/${source.id}`, { token: alice.accessToken });
		expect(used.body.lastUsedAt).not.toBeNull(); // the key's use is recorded
		const revoked = await t.request("POST", `/api/v1/sources/${source.id}/revoke`, {
			token: alice.accessToken,
		});
		expect(revoked.status).toBe(200);
		expect(revoked.body.revokedAt).not.toBeNull();
		const after = await ingest(source.key, { type: "a", externalId: "2", data: {} });
		expect(after.status).toBe(401);
		expect(JSON.stringify(after.body)).not.toContain(source.key);
		expect((await ingest(alice.accessToken, { type: "a", externalId: "3", data: {} })).status).toBe(401);
		const anonymous = await t.request("POST", "/api/v1/ingest", { body: { nonsense: true } });
		expect(anonymous.status).toBe(401); // authentication before validation
		const [n] = await t.db.sql`select count(*)::int as n from ingested_events where source_id = ${source.id}`;
		expect(n!.n).toBe(1);
	});

	test("BOLA: another user's source is 404 on every route", async () => {
		const source = await createSource(alice.accessToken);
		const token = mallory.accessToken;
		for (const [method, path] of [
			["GET", `/api/v1/sources/${source.id}`],
			["POST", `/api/v1/sources/${source.id}/revoke`],
			["DELETE", `/api/v1/sources/${source.id}`],
			["GET", `/api/v1/sources/${source.id}/events`],
		] as const)
			expect((await t.request(method, path, { token })).status).toBe(404);
		const list = await t.request("GET", "/api/v1/sources", { token });
		expect(list.body.items.map((s: { id: string }) => s.id)).not.toContain(source.id);
		const [row] = await t.db.sql`select revoked_at from event_sources where id = ${source.id}`;
		expect(row!.revoked_at).toBeNull();
	});
});

describe("ingest", () => {
	test("a batch: per-item results, good items stored, bad ones reported", async () => {
		const source = await createSource(alice.accessToken);
		const res = await ingest(source.key, {
			events: [
				{ type: "agent.feedback", externalId: "e1", data: { score: 3 } },
				{ type: "agent.feedback", externalId: "e2", occurredAt: "2030-01-01T00:00:00Z", data: { score: 4 } },
				{ type: "bad type!", externalId: "e3", data: {} },
				{ type: "agent.feedback", externalId: "e4", data: { blob: "x".repeat(3000) } },
				{ type: "agent.feedback", externalId: "e1", data: { score: 9 } },
				42,
			],
		});
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ accepted: 2, duplicates: 1, rejected: 3 });
		expect(res.body.results.map((r: { status: string }) => r.status)).toEqual([
			"accepted",
			"accepted",
			"rejected",
			"rejected",
			"duplicate",
			"rejected",
		]);
		expect(res.body.results[2].error.field).toBe("type");
		expect(res.body.results[3].error.code).toBe("data_too_large");
		expect(res.body.results[4].id).toBe(res.body.results[0].id);
		const events = await t.request("GET", `/api/v1/sources/${source.id}/events`, {
			token: alice.accessToken,
		});
		expect(events.body.items.map((e: { externalId: string }) => e.externalId)).toEqual(["e1", "e2"]);
		expect(events.body.items[0].data).toEqual({ score: 3 });
		expect(events.body.items[1].occurredAt).toBe("2030-01-01T00:00:00.000Z");
		// A keyset position past any bigint is refused, not a database error (Schemathesis found a 500).
		const huge = await t.request(
			"GET",
			`/api/v1/sources/${source.id}/events?afterSeq=2880579843744892062759453087236096`,
			{
				token: alice.accessToken,
			},
		);
		expect(huge.status).toBe(422);
		expect(huge.body.error.code).toBe("validation_failed");
	});

	test("a replay is accepted and reported as duplicate; one stored row", async () => {
		const source = await createSource(alice.accessToken);
		const event = { type: "deploy", externalId: "build-7", data: { ok: true } };
		const first = await ingest(source.key, event);
		const again = await ingest(source.key, { events: [event] });
		expect(first.body.results[0].status).toBe("accepted");
		expect(again.body.results[0]).toMatchObject({ status: "duplicate", id: first.body.results[0].id });
		const [n] = await t.db.sql`select count(*)::int as n from ingested_events where source_id = ${source.id}`;
		expect(n!.n).toBe(1);
		// The same externalId from another source is another event.
		const other = await createSource(alice.accessToken);
		expect((await ingest(other.key, event)).body.results[0].status).toBe("accepted");
	});

	test("one bad event alone is a 422 with its field, nothing written", async () => {
		const source = await createSource(alice.accessToken);
		const res = await ingest(source.key, { type: "x", externalId: "1", data: { s: "y".repeat(3000) } });
		expect(res.status).toBe(422);
		expect(res.body.error.details.field).toBe("data");
		expect((await ingest(source.key, { type: "x", externalId: "1" })).status).toBe(422);
		const [n] = await t.db.sql`select count(*)::int as n from ingested_events where source_id = ${source.id}`;
		expect(n!.n).toBe(0);
	});

	test("new_event is notified once per batch with a bounded payload", async () => {
		const source = await createSource(alice.accessToken);
		const heard: string[] = [];
		const listener = createSessionConnection(t.db.sql, {});
		await listener.listen("new_event", (payload) => heard.push(payload));
		const events = Array.from({ length: 30 }, (_, i) => ({ type: "n", externalId: `n${i}`, data: { i } }));
		expect((await ingest(source.key, { events })).body.accepted).toBe(30);
		await eventually(() => heard.length === 1);
		const note = JSON.parse(heard[0]!);
		expect(note).toMatchObject({ operation: "INSERT", count: 30 });
		expect(note.toSeq - note.fromSeq).toBe(29);
		await listener.end();
	});

	test("a key over its events per minute is 429 with Retry-After; nothing written", async () => {
		const source = await createSource(alice.accessToken);
		const events = Array.from({ length: 40 }, (_, i) => ({ type: "r", externalId: `r${i}`, data: {} }));
		expect((await ingest(source.key, { events })).status).toBe(200);
		const over = await ingest(source.key, {
			events: events.map((e) => ({ ...e, externalId: `x${e.externalId}` })),
		});
		expect(over.status).toBe(429);
		expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
		const [n] = await t.db.sql`select count(*)::int as n from ingested_events where source_id = ${source.id}`;
		expect(n!.n).toBe(40);
	});

	test("retention: the cleanup removes events past INGEST_RETENTION_DAYS, keeps the rest", async () => {
		const source = await createSource(alice.accessToken);
		await ingest(source.key, { events: [0, 1].map((i) => ({ type: "old", externalId: `o${i}`, data: {} })) });
		await t.db.sql`update ingested_events set received_at = now() - interval '3 days'
			where source_id = ${source.id} and external_id = 'o0'`;
		expect(await purgeEvents(t.db.sql, 2)).toBeGreaterThanOrEqual(1);
		const rows = await t.db.sql`select external_id from ingested_events where source_id = ${source.id}`;
		expect(rows.map((r) => r.external_id)).toEqual(["o1"]);
	});

	test("a NUL in one item of a batch rejects that item; the others are stored", async () => {
		const source = await createSource(alice.accessToken);
		const res = await ingest(source.key, {
			events: [
				{ type: "z", externalId: "ok", data: { s: "fine" } },
				{ type: "z", externalId: "nul-data", data: { s: "a\u0000b" } },
				{ type: "z", externalId: "nul-key", data: { "k\u0000": 1 } },
				{ type: "z", externalId: "nul\u0000id", data: {} },
			],
		});
		expect(res.status).toBe(200);
		expect(res.body.results.map((r: { status: string }) => r.status)).toEqual([
			"accepted",
			"rejected",
			"rejected",
			"rejected",
		]);
		expect(res.body.results[1].error.field).toBe("data");
		expect(res.body.results[3].error.field).toBe("externalId");
		const one = await ingest(source.key, { type: "z", externalId: "x", data: { s: "\u0000" } });
		expect(one.status).toBe(422);
		const rows = await t.db.sql`select external_id from ingested_events where source_id = ${source.id}`;
		expect(rows.map((r) => r.external_id)).toEqual(["ok"]);
	});

	test("batches wait for the ingest order lock; two racing batches store a shared externalId once", async () => {
		const source = await createSource(alice.accessToken);
		const other = await createSource(alice.accessToken);
		const batch = (ids: string[]) => ({
			events: ids.map((x) => ({ type: "race", externalId: x, data: { x } })),
		});
		const holder = await t.db.sql.reserve();
		try {
			await holder`begin`;
			await holder`select herald_order_lock('ingest')`;
			const first = ingest(source.key, batch(["a", "b"]));
			const second = ingest(source.key, batch(["b", "c"]));
			const third = ingest(other.key, batch(["a"]));
			// All three are inside the database, waiting for the lock (nothing stored yet).
			await eventually(async () => {
				const [w] = await t.db.sql`
					select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`;
				return w!.n === 3;
			});
			const [n] = await t.db.sql`select count(*)::int as n from ingested_events where type = 'race'`;
			expect(n!.n).toBe(0);
			await holder`commit`;
			const [a, b, c] = await Promise.all([first, second, third]);
			const statuses = [...a.body.results, ...b.body.results].map((r: { status: string }) => r.status);
			expect(statuses.filter((s) => s === "duplicate")).toHaveLength(1);
			const ids = [...a.body.results, ...b.body.results].filter((_, i) => [1, 2].includes(i));
			expect(ids[0].id).toBe(ids[1].id); // "b", whichever batch stored it
			expect(c.body.results[0].status).toBe("accepted");
			const rows = await t.db.sql<{ external_id: string; seq: string }[]>`
				select external_id, seq from ingested_events where source_id = ${source.id} order by seq`;
			expect(rows.map((r) => r.external_id).sort()).toEqual(["a", "b", "c"]);
		} finally {
			await holder`rollback`.catch(() => {});
			holder.release();
		}
	});

	test("the ingestion key never reaches a log line", async () => {
		const lines: string[] = [];
		const log = createLogger("debug", {}, (line) => lines.push(line));
		const { createIngestService } = await import("../src/triggers/ingest.ts");
		const { DEFAULT_TRIGGER_SETTINGS } = await import("../src/triggers/settings.ts");
		const service = createIngestService({
			sql: t.db.sql,
			settings: DEFAULT_TRIGGER_SETTINGS,
			runtime: t.services.runtime,
			log,
		});
		const source = await createSource(alice.accessToken);
		const found = await service.authenticate(`Bearer ${source.key}`);
		await service.ingest(found, { type: "l", externalId: "1", data: {} });
		await service.authenticate(`Bearer ${source.key}x`).catch(() => {});
		expect(lines.length).toBeGreaterThan(0); // the service did log (debug)
		expect(lines.join("\n")).not.toContain(source.key);
	});
});
