/**
 * The real Herald app (`createApp`, all middleware) with trivial probes,
 * served like src/app/run.ts does, in its own process. BENCH_VARIANT picks
 * an ablation for profiling (see VARIANTS): one part removed.
 */
import { type AnyElysia, Elysia } from "elysia";
import { createApp } from "../../src/app/api.ts";
import { loadConfig } from "../../src/config.ts";
import { docs } from "../../src/docs/swagger.ts";
import { healthRoutes } from "../../src/health/routes.ts";
import type { HealthProbes } from "../../src/health/service.ts";
import { compression } from "../../src/http/compression.ts";
import { requestContext } from "../../src/http/request-context.ts";
import { createLogger } from "../../src/infra/log.ts";
import { VERSION } from "../../src/version.ts";
import { VARIANTS, type Variant } from "./variants.ts";

const variant = (process.env.BENCH_VARIANT ?? "full") as Variant;
if (!VARIANTS.includes(variant)) throw new Error(`BENCH_VARIANT: unknown "${variant}"`);

const config = loadConfig(process.env);
const log = createLogger(config.logLevel, { role: "api" });
const probes: HealthProbes = { database: async () => 1, temporal: async () => 1, redis: async () => 1 };
const deps = {
	log,
	version: VERSION,
	corsOrigins: config.corsOrigins,
	bodyLimitBytes: config.bodyLimitBytes,
	probes,
};

function build(): AnyElysia {
	if (variant === "full") return createApp(deps) as unknown as AnyElysia;
	if (variant === "no-metrics") return createApp({ ...deps, httpMetrics: false }) as unknown as AnyElysia;
	if (variant === "elysia-min") return new Elysia().get("/health", () => "OK") as unknown as AnyElysia;
	// Same order as createApp (request-context carries request id, CORS and the body limit); "no-x" leaves x out.
	const parts: Array<[string, unknown]> = [
		[
			"no-request-context",
			requestContext({ log, bodyLimitBytes: deps.bodyLimitBytes, corsOrigins: deps.corsOrigins }),
		],
		["no-compression", compression()],
		["no-swagger", docs({ version: VERSION })],
	];
	// native-health: the full app, but GET /health answered by Bun's router from a static Response
	// (Elysia merges `serve.routes` over its own), so liveness skips every hook.
	const serve =
		variant === "native-health"
			? { routes: { "/health": { GET: new Response("OK", { headers: { "content-type": "text/plain" } }) } } }
			: undefined;
	let app = new Elysia({ name: "herald", ...(serve ? { serve } : {}) } as object) as unknown as AnyElysia;
	for (const [skip, plugin] of parts) {
		if (variant === "routes-only" || variant === skip) continue;
		app = app.use(plugin as AnyElysia) as unknown as AnyElysia;
	}
	return app.use(healthRoutes({ probes, version: VERSION, startedAt: Date.now() })) as unknown as AnyElysia;
}

const app = build().listen({ hostname: "127.0.0.1", port: 0, maxRequestBodySize: config.bodyLimitBytes });
console.log(`LISTENING ${app.server!.port} ${variant}`);
process.on("SIGTERM", () => {
	void app.stop().then(() => process.exit(0));
});
