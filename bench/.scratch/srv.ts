import { cors } from "@elysiajs/cors";
import { type AnyElysia, Elysia } from "elysia";
import { docs } from "../../src/docs/swagger.ts";
import { healthRoutes } from "../../src/health/routes.ts";
import { compression } from "../../src/http/compression.ts";
import { requestContext } from "../../src/http/request-context.ts";
import { createLogger } from "../../src/infra/log.ts";

const v = process.env.V ?? "min";
const log = createLogger("info");
const probes = { database: async () => 1, temporal: async () => 1, redis: async () => 1 };
const routes = () => healthRoutes({ probes, version: "x", startedAt: Date.now() });
const corsDefault = () => cors({ origin: true, exposeHeaders: ["x-request-id"] });
const corsStatic = () =>
	cors({
		origin: true,
		exposeHeaders: ["x-request-id"],
		allowedHeaders: ["content-type", "authorization", "x-request-id"],
		methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
	});
const leanCors = () =>
	new Elysia({ name: "lean-cors" }).onRequest(({ request, set }) => {
		const origin = request.headers.get("origin");
		if (!origin) return;
		set.headers["access-control-allow-origin"] = "*";
		set.headers["access-control-expose-headers"] = "x-request-id";
		if (request.method === "OPTIONS")
			return new Response(null, {
				status: 204,
				headers: {
					"access-control-allow-origin": "*",
					"access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE",
					"access-control-allow-headers": request.headers.get("access-control-request-headers") ?? "*",
					"access-control-max-age": "600",
				},
			});
	});
let app: AnyElysia = new Elysia() as any;
const use = (p: any) => {
	app = app.use(p) as any;
};
switch (v) {
	case "min":
		break;
	case "derive-hdr":
		use(
			new Elysia().derive({ as: "global" }, ({ set }) => {
				const id = crypto.randomUUID();
				set.headers["x-request-id"] = id;
				return { requestId: id };
			}),
		);
		break;
	case "derive-nohdr":
		use(new Elysia().derive({ as: "global" }, () => ({ requestId: crypto.randomUUID() })));
		break;
	case "onrequest-hdr":
		use(
			new Elysia().onRequest(({ set }) => {
				set.headers["x-request-id"] = crypto.randomUUID();
			}),
		);
		break;
	case "after-response":
		use(new Elysia().onAfterResponse({ as: "global" }, () => {}));
		break;
	case "on-error":
		use(new Elysia().onError({ as: "global" }, () => "x"));
		break;
	case "request-context":
		use(requestContext({ log, bodyLimitBytes: 1 << 20 }));
		break;
	case "cors-default":
		use(corsDefault());
		break;
	case "cors-static":
		use(corsStatic());
		break;
	case "headers-only":
		use(new Elysia().headers({ a: "1", b: "2", c: "3" }));
		break;
	case "compression":
		use(compression);
		break;
	case "swagger":
		use(docs({ version: "x" }));
		break;
	case "full-cors-static":
		use(requestContext({ log, bodyLimitBytes: 1 << 20 }));
		use(corsStatic());
		use(compression);
		use(docs({ version: "x" }));
		break;
	case "onrequest-noop":
		use(new Elysia().onRequest(() => {}));
		break;
	case "onrequest-6hdr":
		use(
			new Elysia().onRequest(({ set }) => {
				set.headers.a = "1";
				set.headers.b = "2";
				set.headers.c = "3";
				set.headers.d = "4";
				set.headers.e = "5";
				set.headers.f = "6";
			}),
		);
		break;
	case "cors-lean":
		use(leanCors());
		break;
	case "full-lean":
		use(requestContext({ log, bodyLimitBytes: 1 << 20 }));
		use(leanCors());
		use(compression);
		use(docs({ version: "x" }));
		break;
	case "bare":
	case "static":
		break;
	case "full-lean-static":
		use(requestContext({ log, bodyLimitBytes: 1 << 20 }));
		use(leanCors());
		use(compression);
		use(docs({ version: "x" }));
		break;
	case "full":
		use(requestContext({ log, bodyLimitBytes: 1 << 20 }));
		use(corsDefault());
		use(compression);
		use(docs({ version: "x" }));
		break;
}
if (v === "bare") app = app.get("/health", () => "OK") as any;
else if (v === "static" || v === "full-lean-static") app = app.get("/health", "OK") as any;
else app = app.use(routes()) as any;
app.listen({ hostname: "127.0.0.1", port: 0 });
console.log(`LISTENING ${app.server!.port} ${v}`);
