/**
 * MCP actions against an in-repo agent server built with the official SDK:
 * the client (src/triggers/mcp.ts) succeeds, treats `isError` and an
 * unknown tool as terminal, 401 as terminal, 5xx as retryable, refuses a
 * private destination (SSRF) unless allowed; the save-time check (the tool
 * exists, the sample arguments fit its input schema); and a fire's run end to
 * end (processor → bridge → Temporal → MCP call), a 503 first then retried.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { scrape } from "../src/infra/metrics.ts";
import { DeliveryFailed } from "../src/outbound/types.ts";
import { callMcpTool, checkMcpTool } from "../src/triggers/mcp.ts";
import type { TestApp } from "./support/app.ts";
import { type AgentServer, startAgentServer } from "./support/mcp-server.ts";
import { sumOf } from "./support/metrics.ts";
import type { Registered } from "./support/tokens.ts";
import { startTriggerStack, type TriggerStack } from "./support/trigger-stack.ts";
import { eventually } from "./support/wait.ts";

let agent: AgentServer;
const allowed = { allowPrivate: ["127.0.0.1"], timeoutMs: 5000 };

let stack: TriggerStack;
let t: TestApp;
let alice: Registered;

beforeAll(async () => {
	agent = startAgentServer();
	stack = await startTriggerStack("mcp");
	({ t, alice } = stack);
});
afterAll(async () => {
	await stack.stop();
	agent.stop();
});

const failureOf = async (work: Promise<unknown>) => {
	const error = await work.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(DeliveryFailed);
	return error as DeliveryFailed;
};

describe("the MCP client", () => {
	test("success: the tool is called with the arguments and the bearer token", async () => {
		await callMcpTool({ url: agent.url, token: agent.token }, "feedback", { agent: "a1", score: 4 }, allowed);
		expect(agent.calls.at(-1)).toEqual({ agent: "a1", score: 4 });
	});
	test("isError and an unknown tool are terminal", async () => {
		const isError = await failureOf(
			callMcpTool({ url: agent.url, token: agent.token }, "explode", {}, allowed),
		);
		expect([isError.retryable, isError.message]).toEqual([
			false,
			expect.stringContaining("the agent refused"),
		]);
		const unknown = await failureOf(callMcpTool({ url: agent.url, token: agent.token }, "nope", {}, allowed));
		expect(unknown.retryable).toBe(false);
	});
	test("401 is terminal; 5xx is retryable", async () => {
		const denied = await failureOf(
			callMcpTool({ url: agent.url, token: "wrong-token" }, "feedback", { agent: "a", score: 1 }, allowed),
		);
		expect([denied.retryable, denied.options.statusCode]).toEqual([false, 401]);
		agent.failNext(1);
		const down = await failureOf(
			callMcpTool({ url: agent.url, token: agent.token }, "feedback", { agent: "a", score: 1 }, allowed),
		);
		expect(down.retryable).toBe(true);
	});
	test("SSRF: a private destination is refused before any request, unless allowed", async () => {
		const before = agent.requests.length;
		const refused = await failureOf(
			callMcpTool(
				{ url: agent.url, token: agent.token },
				"feedback",
				{ agent: "a", score: 1 },
				{ allowPrivate: [], timeoutMs: 5000 },
			),
		);
		expect([refused.retryable, refused.options.reason]).toEqual([false, "destination_refused"]);
		expect(agent.requests.length).toBe(before);
		const metadata = await failureOf(
			callMcpTool({ url: "http://169.254.169.254/mcp" }, "feedback", {}, allowed),
		);
		expect(metadata.retryable).toBe(false);
	});
	test("every request is pinned to the checked address: a name only the check resolves still connects", async () => {
		// `agent.test` resolves through the check's resolver alone (the system resolver knows no `.test`),
		// so a request that looked the name up again could not connect: the call succeeds only pinned.
		const url = new URL(agent.url);
		const before = agent.requests.length;
		await callMcpTool(
			{ url: `http://agent.test:${url.port}${url.pathname}`, token: agent.token },
			"feedback",
			{ agent: "pinned", score: 2 },
			{
				allowPrivate: ["127.0.0.1"],
				timeoutMs: 5000,
				resolve: async (name) => (name === "agent.test" ? ["127.0.0.1"] : []),
			},
		);
		expect(agent.requests.length).toBeGreaterThan(before);
		// A name the check resolves to a refused address is never connected to.
		const rebound = await failureOf(
			callMcpTool(
				{ url: `http://agent.test:${url.port}/mcp` },
				"feedback",
				{},
				{
					allowPrivate: [],
					timeoutMs: 5000,
					resolve: async () => ["127.0.0.1"],
				},
			),
		);
		expect([rebound.retryable, rebound.options.reason]).toEqual([false, "destination_refused"]);
	});
	test("the save-time check: the tool must exist and the sample arguments fit its schema", async () => {
		const target = { url: agent.url, token: agent.token };
		expect(await checkMcpTool(target, "feedback", { agent: "a", score: 3 }, allowed)).toBeUndefined();
		expect(await checkMcpTool(target, "missing", {}, allowed)).toContain("no tool");
		expect(await checkMcpTool(target, "feedback", { agent: "a", score: "high" }, allowed)).toContain(
			"input schema",
		);
	});
});

describe("MCP actions", () => {
	const action = (over: Record<string, unknown> = {}) => ({
		kind: "mcp",
		url: agent.url,
		tool: "feedback",
		token: agent.token,
		arguments: { agent: "{{data.agent}}", score: "{{data.score}}" },
		sampleData: { agent: "a1", score: 2 },
		...over,
	});
	const create = (over: Record<string, unknown> = {}) =>
		t.request("POST", "/api/v1/triggers", {
			token: alice.accessToken,
			body: {
				name: "to the agent",
				eventTypes: ["agent.scored"],
				condition: "data.score < 3",
				action: action(over),
			},
		});

	test("saving checks the tool and the sample arguments (422 otherwise); the token is never shown", async () => {
		expect((await create({ tool: "missing" })).status).toBe(422);
		expect((await create({ sampleData: { agent: "a1", score: "bad" } })).status).toBe(422);
		expect((await create({ token: "wrong-token" })).status).toBe(422);
		const ok = await create();
		expect([ok.status, ok.body.error?.message]).toEqual([201, undefined]);
		expect(JSON.stringify(ok.body)).not.toContain(agent.token);
		await t.request("DELETE", `/api/v1/triggers/${ok.body.id}`, { token: alice.accessToken }); // only the next test's trigger fires
	});

	test("a fire calls the tool through a Temporal run: a 503 first, then retried, recorded", async () => {
		const created = await create({ arguments: { agent: "{{data.agent}}", score: "{{data.score}}" } });
		const source = (
			await t.request("POST", "/api/v1/sources", { token: alice.accessToken, body: { name: "m" } })
		).body;
		const mcpRuns = async () => {
			const text = await scrape();
			return ["success", "retry", "terminal"].map((outcome) =>
				sumOf(text, "herald_trigger_action_runs_total", { kind: "mcp", outcome }),
			);
		};
		const counted = await mcpRuns();
		agent.failNext(1);
		await t.request("POST", "/api/v1/ingest", {
			body: { type: "agent.scored", externalId: "s1", data: { agent: "agent-9", score: 1 } },
			headers: { authorization: `Bearer ${source.key}` },
		});
		const [run] = await eventually(
			async () => {
				const res = await t.request("GET", `/api/v1/triggers/${created.body.id}/runs`, {
					token: alice.accessToken,
				});
				return res.body.items?.[0]?.status === "succeeded" ? res.body.items : undefined;
			},
			{ timeoutMs: 30_000 },
		).catch(async (error) => {
			const res = await t.request("GET", `/api/v1/triggers/${created.body.id}/runs`, {
				token: alice.accessToken,
			});
			throw new Error(`${error} ${created.status} ${JSON.stringify(res.body)}`);
		});
		expect(run.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["retryable", "ok"]);
		expect(run.attempts[0].destination).toBe(new URL(agent.url).origin);
		expect(JSON.stringify(run)).not.toContain(agent.token);
		expect(agent.calls).toContainEqual({ agent: "agent-9", score: 1 });
		// Counted by kind and outcome: the 503 a retry, then a success.
		expect((await mcpRuns()).map((n, i) => n - counted[i]!)).toEqual([1, 1, 0]);
	}, 60_000);
});
