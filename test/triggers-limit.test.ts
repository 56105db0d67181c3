/**
 * The per-user trigger limit holds under concurrent creates: the count and the
 * insert run under one per-owner lock, so two creates at the limit cannot both pass.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { holdTransaction } from "./support/sync.ts";
import { type Registered, register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

let t: TestApp;
let alice: Registered;

beforeAll(async () => {
	t = await startTestApp({ TRIGGER_MAX_PER_USER: "1" });
	alice = await register(t);
});
afterAll(async () => {
	await t.stop();
});

const definition = (name: string) => ({
	name,
	eventTypes: ["agent.feedback"],
	condition: "data.score < 3",
	action: { kind: "webhook", url: "https://example.com/hook", body: { score: "{{data.score}}" } },
});

test("two creates at the limit, let go together: one is created, the other is 409", async () => {
	// Hold the owner's lock so both creates are inside their transaction, waiting, before either counts.
	const hold = await holdTransaction(t, (tx) => tx`select herald_order_lock(${`triggers:${alice.userId}`})`);
	const creates = ["a", "b"].map((name) =>
		t.request("POST", "/api/v1/triggers", { token: alice.accessToken, body: definition(name) }),
	);
	await eventually(
		async () =>
			(
				await t.db.sql`
					select 1 from pg_stat_activity
					where datname = current_database() and wait_event_type = 'Lock' and query ilike '%herald_order_lock%'`
			).length === 2,
		{ what: "both creates waiting for the owner's lock" },
	);
	await hold.release();
	const statuses = (await Promise.all(creates)).map((r) => r.status).sort();
	expect(statuses).toEqual([201, 409]);
	const [row] = await t.db.sql`select count(*)::int as n from triggers where owner_id = ${alice.userId}`;
	expect(row!.n).toBe(1);
});
