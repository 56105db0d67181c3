/**
 * API documentation that works with no internet: `@elysiajs/swagger` builds
 * the OpenAPI document at /swagger/json; the Swagger UI page and its assets
 * are served from the `swagger-ui-dist` npm package (the plugin's own page
 * loads them from a CDN, so it is mounted out of the way and hidden).
 * `/swagger/json` is the plugin's document after `normalizeOpenApi`.
 */
import { dirname, join } from "node:path";
import { swagger } from "@elysiajs/swagger";
import { Elysia } from "elysia";
import { normalizeOpenApi } from "./openapi.ts";

export const RAW_SPEC_PATH = "/swagger/raw.json";

const ASSETS = dirname(Bun.resolveSync("swagger-ui-dist/package.json", import.meta.dir));
const FILES: Record<string, string> = {
	"swagger-ui.css": "text/css; charset=utf-8",
	"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
	"swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
	"favicon-32x32.png": "image/png",
};

const page = (title: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8" />
<title>${title}</title>
<link rel="stylesheet" href="/swagger/assets/swagger-ui.css" />
<link rel="icon" type="image/png" href="/swagger/assets/favicon-32x32.png" />
</head>
<body>
<div id="swagger-ui"></div>
<script src="/swagger/assets/swagger-ui-bundle.js"></script>
<script src="/swagger/assets/swagger-ui-standalone-preset.js"></script>
<script>
window.onload = () => {
	window.ui = SwaggerUIBundle({
		url: "/swagger/json",
		dom_id: "#swagger-ui",
		deepLinking: true,
		persistAuthorization: true,
		presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
		layout: "StandaloneLayout",
	});
};
</script>
</body>
</html>`;

export function docs(options: { version: string }) {
	const html = page("Herald API");
	return new Elysia({ name: "herald/docs" })
		.use(
			swagger({
				provider: "swagger-ui",
				path: "/swagger/plugin-page",
				// The plugin's own document; `/swagger/json` serves it normalized (openapi.ts).
				specPath: RAW_SPEC_PATH,
				excludeTags: ["internal"],
				// Paths with a dot are documented too (`/.well-known/jwks.json`); the docs' own are not.
				excludeStaticFile: false,
				exclude: [RAW_SPEC_PATH, "/swagger/plugin-page"],
				documentation: {
					info: {
						title: "Herald API",
						version: options.version,
						description:
							"Durable actor runtime: REST API over PostgreSQL with Temporal workflows. Errors are `{ error: { code, message, requestId, details? } }`.",
					},
					tags: [
						{ name: "health", description: "Liveness and dependency status" },
						{ name: "auth", description: "Accounts, sign-in, token rotation" },
						{ name: "users", description: "The signed-in user's profile" },
						{ name: "admin", description: "Operational endpoints for administrators (circuits, users)" },
						{ name: "events", description: "Events and their reminder schedule (seed 000)" },
						{ name: "registrations", description: "Participants: register, cancel, confirm" },
						{ name: "notifications", description: "The in-app inbox; live at WS /ws/notifications" },
						{ name: "channels", description: "Where notifications go: webhook, email, Telegram" },
						{ name: "deliveries", description: "Each delivery to a channel and its attempts" },
						{ name: "contacts", description: "A user's contacts, their balances and settle-up (seed 001)" },
						{
							name: "transactions",
							description: "Debts and payments over an append-only ledger (seed 001)",
						},
						{ name: "balances", description: "Balances per contact and currency; positive = they owe you" },
						{
							name: "seed-001 aliases",
							description:
								"Seed 001's own paths (/api/contacts, /api/transactions, /api/sync/…, /api/auth/…), on the same handlers as /api/v1",
						},
						{ name: "reminders", description: "Reminders as durable timers: RRULE, time zones (seed 001)" },
						{
							name: "sync",
							description:
								"Multi-device sync (seed 001): push mutations, pull a patch since a cookie that follows commit order; pokes at WS /ws/sync",
						},
					],
					components: {
						securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
					},
				},
			}),
		)
		.get("/swagger", () => new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } }), {
			detail: { hide: true },
		})
		.get(
			"/swagger/assets/:file",
			({ params, status }) => {
				const type = FILES[params.file];
				if (!type) return status(404, { error: { code: "not_found", message: "no such asset" } });
				return new Response(Bun.file(join(ASSETS, params.file)), {
					headers: { "content-type": type, "cache-control": "public, max-age=86400" },
				});
			},
			{ detail: { hide: true } },
		);
}

/** `GET /swagger/json`: the document, normalized once (every route is mounted by the first request). */
export function publishedDocument(handle: (request: Request) => Promise<Response>) {
	let cached: Promise<Record<string, unknown>> | undefined;
	return new Elysia({ name: "herald/openapi" }).get(
		"/swagger/json",
		() =>
			(cached ??= handle(new Request(`http://herald.internal${RAW_SPEC_PATH}`))
				.then((res) => res.json() as Promise<Record<string, unknown>>)
				.then(normalizeOpenApi)),
		{ detail: { hide: true } },
	);
}
