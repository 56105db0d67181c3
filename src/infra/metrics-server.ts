/**
 * Every role's metrics endpoint, on its own port (METRICS_PORT) so a scrape
 * never competes with the API and nothing is exposed on the public port:
 * `GET /metrics` is Herald's registry followed by the Temporal SDK's own
 * exporter (the worker's native core serves it on a loopback port; its series
 * all start with `temporal_`), `GET /health` what this process's parts say.
 */
import type { Server } from "bun";
import { CONTENT_TYPE, scrape } from "./metrics.ts";

export interface MetricsServer {
	readonly url: string;
	/** Adds the text of another exporter (the Temporal runtime's) to every scrape. */
	addUpstream(url: string): void;
	/** Adds a check to `/health` (name → ok or a reason); a failing one turns it 503. */
	addCheck(name: string, check: () => { ok: boolean; detail?: string }): void;
	stop(): Promise<void>;
}

export function startMetricsServer(options: { host: string; port: number }): MetricsServer {
	const upstreams: string[] = [];
	const checks = new Map<string, () => { ok: boolean; detail?: string }>();
	const server: Server<undefined> = Bun.serve({
		hostname: options.host,
		port: options.port,
		async fetch(request) {
			const { pathname } = new URL(request.url);
			if (request.method !== "GET") return new Response("method not allowed", { status: 405 });
			if (pathname === "/metrics") {
				const parts = await Promise.all([scrape(), ...upstreams.map(fetchUpstream)]);
				const text = parts
					.map((p) => p.trimEnd())
					.filter(Boolean)
					.join("\n");
				return new Response(`${text}\n`, { headers: { "content-type": CONTENT_TYPE } });
			}
			if (pathname === "/health") {
				const results = Object.fromEntries([...checks].map(([name, check]) => [name, check()]));
				const ok = Object.values(results).every((r) => r.ok);
				return Response.json({ status: ok ? "ok" : "degraded", checks: results }, { status: ok ? 200 : 503 });
			}
			return new Response("not found", { status: 404 });
		},
	});
	const host = options.host === "0.0.0.0" ? "127.0.0.1" : options.host;
	return {
		url: `http://${host}:${server.port}`,
		addUpstream: (url) => void upstreams.push(url),
		addCheck: (name, check) => void checks.set(name, check),
		async stop() {
			await server.stop(true);
		},
	};
}

/** An upstream that does not answer in time costs its series for this scrape, not the scrape. */
async function fetchUpstream(url: string): Promise<string> {
	try {
		const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
		return response.ok ? (await response.text()).trimEnd() : "";
	} catch {
		return "";
	}
}
