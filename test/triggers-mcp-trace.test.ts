/**
 * MCP calls carry W3C trace context like outbound webhooks: with tracing on,
 * every HTTP request of a tool call reaches the in-repo agent server with a
 * `traceparent` naming the call's client span (`mcp tools/call`, a child of
 * the caller's span), and that span reaches the OTLP receiver without the
 * server's URL or token. Without tracing, no header is sent.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { callMcpTool } from "../src/triggers/mcp.ts";
import { type AgentServer, startAgentServer } from "./support/mcp-server.ts";
import { type OtlpReceiver, startOtlpReceiver } from "./support/otlp.ts";
import { eventually } from "./support/wait.ts";

let agent: AgentServer;
let otlp: OtlpReceiver;

beforeAll(() => {
	agent = startAgentServer();
	otlp = startOtlpReceiver();
});
afterAll(() => {
	agent.stop();
	otlp.stop();
});

const SPAN_KIND_CLIENT = 3; // OTLP's enum

describe("traceparent on MCP calls", () => {
	test("tracing on: each request names the call's client span, exported as a child of the caller", async () => {
		const before = agent.traceparents.length;
		const child = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures", "mcp-traced-call.ts")], {
			env: { ...process.env, MCP_URL: agent.url, MCP_TOKEN: agent.token, OTLP_URL: otlp.url },
			stdout: "pipe",
			stderr: "pipe",
		});
		const [out, err, code] = await Promise.all([
			new Response(child.stdout).text(),
			new Response(child.stderr).text(),
			child.exited,
		]);
		expect({ code, err: code === 0 ? "" : err }).toEqual({ code: 0, err: "" });
		const { traceId } = JSON.parse(out.trim().split("\n").at(-1)!) as { traceId: string };
		expect(agent.calls.at(-1)).toEqual({ agent: "traced", score: 7 });

		const headers = agent.traceparents.slice(before);
		expect(headers.length).toBeGreaterThanOrEqual(2); // initialize, then tools/call (and its notifications)
		const parsed = headers.map((h) => /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(h ?? ""));
		expect(parsed.every((m) => m !== null)).toBe(true);
		expect(new Set(parsed.map((m) => m![1]))).toEqual(new Set([traceId]));

		const call = await eventually(
			() => otlp.spans.find((s) => s.traceId === traceId && s.name === "mcp tools/call"),
			{ what: "the MCP client span exported" },
		);
		const parent = otlp.spans.find((s) => s.traceId === traceId && s.name === "test parent");
		expect(call.kind).toBe(SPAN_KIND_CLIENT);
		expect(call.parentSpanId).toBe(parent?.spanId);
		expect(new Set(parsed.map((m) => m![2]))).toEqual(new Set([call.spanId]));
		expect(call.attributes["herald.mcp_tool"]).toBe("feedback");
		const exported = otlp.bodies.join("\n");
		expect(exported).not.toContain(agent.token);
		expect(exported).not.toContain(agent.url);
	});

	test("tracing off (this process): no traceparent is sent", async () => {
		const before = agent.traceparents.length;
		await callMcpTool(
			{ url: agent.url, token: agent.token },
			"feedback",
			{ agent: "plain", score: 1 },
			{
				allowPrivate: ["127.0.0.1"],
				timeoutMs: 5000,
			},
		);
		const headers = agent.traceparents.slice(before);
		expect(headers.length).toBeGreaterThan(0);
		expect(headers.every((h) => h === null)).toBe(true);
	});
});
