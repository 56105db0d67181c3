/**
 * The triggers API over real PostgreSQL: CRUD, save-time checks (CEL type
 * errors with their position, unknown template paths, foreign sources),
 * version bumps that reset state (and action-only edits that do not), the
 * MCP token never returned, the dry-run (decisions, reasons, payloads, no
 * writes), explain by event, and BOLA on every route.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type AgentServer, startAgentServer } from "./support/mcp-server.ts";
import { type Registered, register } from "./support/tokens.ts";

let t: TestApp;
let alice: Registered;
let mallory: Registered;
let agent: AgentServer;

beforeAll(async () => {
	agent = startAgentServer();
	t = await startTestApp({ WEBHOOK_ALLOW_PRIVATE: "127.0.0.1" });
	alice = await register(t);
	mallory = await register(t);
});
afterAll(async () => {
	await t.stop();
	agent.stop();
});

const definition = (over: Record<string, unknown> = {}) => ({
	name: "low score",
	eventTypes: ["agent.feedback"],
	condition: "data.score < 3",
	action: {
		kind: "webhook",
		url: "https://example.com/hook",
		body: { score: "{{data.score}}", who: "agent {{data.agent}}" },
	},
	...over,
});
const create = async (token: string, over: Record<string, unknown> = {}) => {
	const res = await t.request("POST", "/api/v1/triggers", { token, body: definition(over) });
	expect(res.status).toBe(201);
	return res.body;
};

describe("CRUD and save-time checks", () => {
	test("create, read, list, delete", async () => {
		const created = await create(alice.accessToken);
		expect(created).toMatchObject({ name: "low score", version: 1, enabled: true, key: null, sourceIds: [] });
		const got = await t.request("GET", `/api/v1/triggers/${created.id}`, { token: alice.accessToken });
		const { webhookSecret, ...view } = created;
		expect(webhookSecret).toMatch(/^whsec_/); // generated, shown at creation only
		expect(got.body).toEqual(view);
		const list = await t.request("GET", "/api/v1/triggers", { token: alice.accessToken });
		expect(list.body.items.map((x: { id: string }) => x.id)).toContain(created.id);
		expect(
			(await t.request("DELETE", `/api/v1/triggers/${created.id}`, { token: alice.accessToken })).status,
		).toBe(204);
		expect(
			(await t.request("GET", `/api/v1/triggers/${created.id}`, { token: alice.accessToken })).status,
		).toBe(404);
	});

	test("a CEL type error is 422 with its field and position; nothing written", async () => {
		const [before] = await t.db.sql`select count(*)::int as n from triggers`;
		const cases: [Record<string, unknown>, string, number][] = [
			[{ condition: "data.score < 3 && event.type == 1" }, "condition", 18],
			[{ condition: "data.score <" }, "condition", 12],
			[{ condition: "event.nope == 'x'" }, "condition", 6],
			[{ condition: "ema > 1" }, "condition", 0], // no EMA clause: no `ema`
			[{ condition: "data.score" }, "condition", 0], // dyn is allowed; a string is not:
			[{ condition: "'text'" }, "condition", 0],
			[{ key: "event.type +" }, "key", 12],
			[{ clauses: { ema: { value: "'x'", alpha: 0.5 } } }, "clauses.ema.value", 0],
		];
		for (const [over, field, start] of cases) {
			const res = await t.request("POST", "/api/v1/triggers", {
				token: alice.accessToken,
				body: definition(over),
			});
			if (over.condition === "data.score") {
				expect(res.status).toBe(201); // dyn: checked at evaluation (a non-bool is a condition_error)
				continue;
			}
			expect(res.status).toBe(422);
			expect(res.body.error.details.field).toBe(field);
			expect(res.body.error.details.position.start).toBe(start);
		}
		const [after] = await t.db.sql`select count(*)::int as n from triggers`;
		expect(after!.n).toBe(before!.n + 1);
	});

	test("limits, template paths, clause numbers and foreign sources are 422", async () => {
		const nested = `${"(".repeat(40)}true${")".repeat(40)}`;
		const bad: Record<string, unknown>[] = [
			{ condition: nested },
			{ condition: "x".repeat(2001) },
			{ action: { kind: "webhook", url: "https://example.com", body: { a: "{{nope.x}}" } } },
			{ action: { kind: "telegram", chatId: "1", text: "{{trigger.secret}}" } },
			{ clauses: { ema: { value: "data.score", alpha: 0.5, halfLifeSeconds: 3 } } },
			{ clauses: { debounce: { periodSeconds: 10, maxWaitSeconds: 5 } } },
			{ sourceIds: [crypto.randomUUID()] },
		];
		for (const over of bad) {
			const res = await t.request("POST", "/api/v1/triggers", {
				token: alice.accessToken,
				body: definition(over),
			});
			expect(res.status).toBe(422);
		}
		const source = await t.request("POST", "/api/v1/sources", {
			token: mallory.accessToken,
			body: { name: "m" },
		});
		const foreign = await t.request("POST", "/api/v1/triggers", {
			token: alice.accessToken,
			body: definition({ sourceIds: [source.body.id] }),
		});
		expect(foreign.status).toBe(422);
		expect(foreign.body.error.details.field).toBe("sourceIds");
	});

	test("a condition change bumps the version and resets state; an action change does not", async () => {
		const created = await create(alice.accessToken);
		const seed = async () =>
			t.db.sql`insert into trigger_state (trigger_id, key, version, state)
				values (${created.id}, '', 1, '{}') on conflict do nothing`;
		await seed();
		const action = { kind: "webhook", url: "https://example.com/other" };
		const a = await t.request("PATCH", `/api/v1/triggers/${created.id}`, {
			token: alice.accessToken,
			body: { action },
		});
		expect(a.status).toBe(200);
		expect(a.body.version).toBe(1);
		expect((await t.db.sql`select 1 from trigger_state where trigger_id = ${created.id}`).length).toBe(1);
		const c = await t.request("PATCH", `/api/v1/triggers/${created.id}`, {
			token: alice.accessToken,
			body: { condition: "data.score < 2" },
		});
		expect(c.body.version).toBe(2);
		expect((await t.db.sql`select 1 from trigger_state where trigger_id = ${created.id}`).length).toBe(0);
		const bad = await t.request("PATCH", `/api/v1/triggers/${created.id}`, {
			token: alice.accessToken,
			body: { condition: "data.score <" },
		});
		expect(bad.status).toBe(422);
		expect(
			(await t.request("GET", `/api/v1/triggers/${created.id}`, { token: alice.accessToken })).body.condition,
		).toBe("data.score < 2");
	});

	test("an MCP token is stored but never returned", async () => {
		const created = await create(alice.accessToken, {
			action: {
				kind: "mcp",
				url: agent.url,
				tool: "feedback",
				token: agent.token,
				arguments: { agent: "{{data.agent}}", score: 1 },
				sampleData: { agent: "a" },
			},
		});
		expect(JSON.stringify(created)).not.toContain(agent.token);
		expect(created.action.hasToken).toBe(true);
		const renamed = await t.request("PATCH", `/api/v1/triggers/${created.id}`, {
			token: alice.accessToken,
			body: { action: { kind: "mcp", url: agent.url, tool: "explode" } },
		});
		expect(renamed.body.action).toMatchObject({ tool: "explode", hasToken: true }); // the kept token passed the check
	});

	test("BOLA: another user's trigger is 404 on every route, and unchanged", async () => {
		const created = await create(alice.accessToken);
		const token = mallory.accessToken;
		for (const [method, path, body] of [
			["GET", `/api/v1/triggers/${created.id}`, undefined],
			["PATCH", `/api/v1/triggers/${created.id}`, { name: "mine" }],
			["DELETE", `/api/v1/triggers/${created.id}`, undefined],
			["GET", `/api/v1/triggers/${created.id}/decisions`, undefined],
		] as const)
			expect((await t.request(method, path, { token, body })).status).toBe(404);
		expect(
			(await t.request("GET", `/api/v1/triggers/${created.id}`, { token: alice.accessToken })).body.name,
		).toBe("low score");
		for (const [method, path] of [
			["GET", `/api/v1/triggers/${created.id}`],
			["POST", "/api/v1/triggers/dry-run"],
		] as const)
			expect((await t.request(method, path, {})).status).toBe(401);
	});
});

describe("dry-run", () => {
	test("decisions with reasons and the rendered payload; nothing stored", async () => {
		const [before] = await t.db
			.sql`select (select count(*) from trigger_decisions) + (select count(*) from trigger_fires) as n`;
		const res = await t.request("POST", "/api/v1/triggers/dry-run", {
			token: alice.accessToken,
			body: {
				trigger: definition({ condition: "data.score < 3 && data.agent == 'a1'" }),
				events: [
					{ type: "agent.feedback", data: { score: 2, agent: "a1" } },
					{ type: "agent.feedback", data: { score: 5, agent: "a1" } },
					{ type: "agent.feedback", data: { agent: "a1" } },
					{ type: "other", data: {} },
				],
			},
		});
		expect(res.status).toBe(200);
		expect(res.body.fires).toBe(1);
		const [fire, no, missing, miss] = res.body.decisions;
		expect(fire).toMatchObject({ decision: "fire", payload: { score: 2, who: "agent a1" } });
		expect(no.decision).toBe("condition_false");
		expect(no.reason.operands).toEqual([
			{ operand: "data.score < 3", value: false },
			{ operand: "data.agent == 'a1'", value: true },
		]);
		expect(missing.decision).toBe("condition_false");
		expect(missing.reason.missing).toContain("score");
		expect(miss.decision).toBe("prefilter_miss");
		const [after] = await t.db
			.sql`select (select count(*) from trigger_decisions) + (select count(*) from trigger_fires) as n`;
		expect(after!.n).toBe(before!.n);
	});

	test("stateful clauses over a virtual clock: count window and cooldown", async () => {
		const at = (s: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, s)).toISOString();
		const res = await t.request("POST", "/api/v1/triggers/dry-run", {
			token: alice.accessToken,
			body: {
				trigger: definition({
					clauses: { count: { mode: "sliding", windowSeconds: 10, threshold: 2 }, cooldownSeconds: 30 },
				}),
				events: [0, 1, 2, 3].map((s) => ({
					type: "agent.feedback",
					occurredAt: at(s),
					receivedAt: at(s),
					data: { score: 1 },
				})),
			},
		});
		expect(res.body.decisions.map((d: { decision: string }) => d.decision)).toEqual([
			"state_unsatisfied",
			"fire",
			"cooldown",
			"cooldown",
		]);
		expect(res.body.decisions[0].reason.count).toBe("1/2 in 10 s");
		expect(res.body.decisions[3].reason.suppressed).toBe(2);
	});

	test("other methods on /dry-run are 405 with Allow: POST (not an id of /:id)", async () => {
		for (const method of ["GET", "PATCH", "DELETE", "OPTIONS"]) {
			const res = await t.request(method, "/api/v1/triggers/dry-run", { token: alice.accessToken });
			expect([method, res.status, res.headers.get("allow")]).toEqual([method, 405, "POST"]);
		}
	});

	test("a bad definition is 422, as on save", async () => {
		const res = await t.request("POST", "/api/v1/triggers/dry-run", {
			token: alice.accessToken,
			body: { trigger: definition({ condition: "data.x ==" }), events: [{ type: "a", data: {} }] },
		});
		expect(res.status).toBe(422);
		expect(res.body.error.details.position).toBeDefined();
	});
});
