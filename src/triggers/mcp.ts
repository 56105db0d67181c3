/**
 * Herald as an MCP client (official TypeScript SDK, Streamable HTTP; the
 * SDK negotiates the protocol revision, current and earlier ones): call a
 * named tool on an agent's MCP server with an optional bearer token, every
 * request through the webhook sender's pinned fetch (the SSRF check with
 * WEBHOOK_ALLOW_PRIVATE, then the connection pinned to the checked address,
 * so a second DNS answer is never used), under one deadline.
 *
 * Outcomes as the delivery senders report them (`DeliveryFailed`): a tool
 * result with `isError`, an unknown tool, 401/403/404 and a refused
 * destination are terminal; transport errors, 5xx, 429 and timeouts are
 * retryable (the caller retries through the shared circuit breaker).
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
	StreamableHTTPClientTransport,
	StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { Ajv } from "ajv";
import { injectTraceHeaders, inSpan, SpanKind } from "../infra/tracing.ts";
import { createPinnedFetch } from "../outbound/senders/pinned-fetch.ts";
import { DestinationRefused, type Resolver } from "../outbound/ssrf.ts";
import { DeliveryFailed } from "../outbound/types.ts";
import { VERSION } from "../version.ts";

export interface McpSettings {
	allowPrivate: readonly string[];
	timeoutMs: number;
	resolve?: Resolver;
}

export interface McpTarget {
	url: string;
	token?: string;
}

const TERMINAL_STATUS = new Set([400, 401, 403, 404, 405, 410, 422]);

function failure(error: unknown, host: string): DeliveryFailed {
	if (error instanceof DeliveryFailed) return error;
	if (error instanceof DestinationRefused)
		return new DeliveryFailed(error.message, false, { reason: "destination_refused" });
	if (error instanceof StreamableHTTPError) {
		const status = error.code;
		const terminal = status !== undefined && TERMINAL_STATUS.has(status);
		return new DeliveryFailed(`mcp ${host}: HTTP ${status ?? "error"}`, !terminal, { statusCode: status });
	}
	if (error instanceof McpError) {
		// JSON-RPC errors: an unknown tool or bad arguments (-32602), a missing method: the server said no.
		return new DeliveryFailed(`mcp ${host}: ${error.message}`, error.code >= -32099 && error.code <= -32000);
	}
	const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
	const status = /\b(\d{3})\b/.exec(text)?.[1];
	if (status && TERMINAL_STATUS.has(Number(status)))
		return new DeliveryFailed(`mcp ${host}: HTTP ${status}`, false, { statusCode: Number(status) });
	return new DeliveryFailed(`mcp ${host}: ${text.slice(0, 200)}`, true, { reason: "network_error" });
}

/** Connects, runs `work` with the client, closes; every failure as a DeliveryFailed. */
export async function withMcpClient<T>(
	target: McpTarget,
	settings: McpSettings,
	work: (client: Client) => Promise<T>,
): Promise<T> {
	const host = (() => {
		try {
			return new URL(target.url).host;
		} catch {
			return "invalid-url";
		}
	})();
	const deadline = AbortSignal.timeout(settings.timeoutMs);
	// Every request checked and pinned to the checked address (the webhook sender's transport).
	const pinned = createPinnedFetch(`mcp ${host}`, {
		allowPrivate: settings.allowPrivate,
		connectTimeoutMs: 0,
		timeoutMs: settings.timeoutMs,
		resolve: settings.resolve,
	});
	const guardedFetch = async (input: string | URL | Request, init?: RequestInit) => {
		const url = input instanceof Request ? input.url : String(input);
		// W3C trace context of the active (client) span, as the webhook sender sends it.
		const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
		for (const [name, value] of Object.entries(injectTraceHeaders({}))) headers.set(name, value);
		const body = init?.body ?? undefined;
		if (body !== undefined && typeof body !== "string") throw new TypeError("mcp: only text request bodies");
		const signal = init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
		const { response } = await pinned(url, { method: init?.method ?? "GET", headers, body }, signal);
		return response;
	};
	const transport = new StreamableHTTPClientTransport(new URL(target.url), {
		fetch: guardedFetch,
		requestInit: target.token ? { headers: { authorization: `Bearer ${target.token}` } } : undefined,
	});
	const client = new Client({ name: "herald", version: VERSION });
	try {
		await client.connect(transport, { signal: deadline, timeout: settings.timeoutMs });
		return await work(client);
	} catch (error) {
		throw failure(error, host);
	} finally {
		await client.close().catch(() => {});
	}
}

/**
 * Calls the tool, in a client span (its every request carries the span's
 * `traceparent`; the span names the tool, never the URL or the token); an
 * `isError` result is a terminal failure.
 */
export async function callMcpTool(
	target: McpTarget,
	tool: string,
	args: unknown,
	settings: McpSettings,
): Promise<void> {
	await inSpan(
		"mcp tools/call",
		{
			kind: SpanKind.CLIENT,
			attributes: { "rpc.system": "mcp", "rpc.method": "tools/call", "herald.mcp_tool": tool },
		},
		() => callTool(target, tool, args, settings),
	);
}

async function callTool(
	target: McpTarget,
	tool: string,
	args: unknown,
	settings: McpSettings,
): Promise<void> {
	await withMcpClient(target, settings, async (client) => {
		const result = await client.callTool(
			{ name: tool, arguments: (args ?? {}) as Record<string, unknown> },
			undefined,
			{ timeout: settings.timeoutMs },
		);
		if (result.isError) {
			const content = Array.isArray(result.content) ? result.content : [];
			const text = content.flatMap((c: { type: string; text?: string }) =>
				c.type === "text" && c.text ? [c.text] : [],
			);
			throw new DeliveryFailed(
				`mcp tool ${tool} failed: ${text.join(" ").slice(0, 200) || "isError"}`,
				false,
				{
					reason: "tool_error",
				},
			);
		}
	});
}

const ajv = new Ajv({ strict: false, allErrors: false });

/**
 * The save-time check: the tool exists on the server and `sample` (the
 * arguments rendered from a sample fire) satisfies its input schema.
 * Returns a problem to report, or undefined.
 */
export async function checkMcpTool(
	target: McpTarget,
	tool: string,
	sample: unknown,
	settings: McpSettings,
): Promise<string | undefined> {
	let problem: string | undefined;
	await withMcpClient(target, settings, async (client) => {
		const tools = [];
		let cursor: string | undefined;
		do {
			const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: settings.timeoutMs });
			tools.push(...page.tools);
			cursor = page.nextCursor;
		} while (cursor && tools.length < 10_000);
		const found = tools.find((t) => t.name === tool);
		if (!found) {
			problem = `the MCP server has no tool "${tool}"`;
			return;
		}
		const validate = ajv.compile(found.inputSchema);
		if (!validate(sample ?? {}))
			problem = `the arguments do not satisfy the tool's input schema: ${ajv.errorsText(validate.errors)}`;
	});
	return problem;
}
