/**
 * An agent's MCP server for contract tests, built with the official SDK
 * (McpServer over the web-standard Streamable HTTP transport, stateless) on
 * Bun.serve at 127.0.0.1: tools `feedback` ({agent, score}) and `explode`
 * (always an `isError` result); a bearer token (401 without it); and a
 * switch to answer the next N requests with 503; every request's `traceparent`.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { z } from "zod";

export interface AgentServer {
	url: string;
	token: string;
	/** Every successful `feedback` call's arguments. */
	calls: { agent: string; score: number }[];
	/** Answer the next `n` HTTP requests with 503. */
	failNext(n: number): void;
	/** HTTP requests seen (with their status). */
	requests: number[];
	/** Every HTTP request's `traceparent` header (null when it had none). */
	traceparents: (string | null)[];
	stop(): void;
}

export function startAgentServer(token = "agent-token-0123456789"): AgentServer {
	const calls: AgentServer["calls"] = [];
	const requests: number[] = [];
	const traceparents: (string | null)[] = [];
	let failing = 0;
	const server = () => {
		const mcp = new McpServer({ name: "test-agent", version: "1.0.0" });
		mcp.registerTool(
			"feedback",
			{
				description: "record feedback",
				inputSchema: { agent: z.string(), score: z.number().min(0).max(10) },
			},
			async ({ agent, score }) => {
				calls.push({ agent, score });
				return { content: [{ type: "text", text: `noted ${agent}` }] };
			},
		);
		mcp.registerTool("explode", { description: "always fails", inputSchema: {} }, async () => ({
			isError: true,
			content: [{ type: "text", text: "the agent refused" }],
		}));
		return mcp;
	};
	const http = Bun.serve({
		hostname: "127.0.0.1",
		port: 0,
		async fetch(request) {
			traceparents.push(request.headers.get("traceparent"));
			const answer = async () => {
				if (failing > 0) {
					failing--;
					return new Response("unavailable", { status: 503 });
				}
				if (request.headers.get("authorization") !== `Bearer ${token}`)
					return new Response("unauthorized", { status: 401 });
				const transport = new WebStandardStreamableHTTPServerTransport({
					sessionIdGenerator: undefined,
					enableJsonResponse: true,
				});
				await server().connect(transport);
				return transport.handleRequest(request);
			};
			const response = await answer();
			requests.push(response.status);
			return response;
		},
	});
	return {
		url: `http://127.0.0.1:${http.port}/mcp`,
		token,
		calls,
		requests,
		traceparents,
		failNext: (n) => {
			failing = n;
		},
		stop: () => http.stop(true),
	};
}
