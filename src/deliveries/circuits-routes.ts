/** Delivery circuits for administrators: what is open, and closing one by hand. */
import { Elysia, t } from "elysia";
import { ErrorBody } from "../auth/model.ts";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService } from "../auth/service.ts";
import { NotFound } from "../errors.ts";
import type { DestinationGuard } from "../outbound/guard.ts";

const CircuitView = t.Object({
	key: t.String({ description: "Destination key: `webhook:<host>`, `smtp:<host>:<port>`, `telegram:bot`" }),
	state: t.Union([t.Literal("closed"), t.Literal("open"), t.Literal("half_open")]),
	failures: t.Optional(t.Integer({ minimum: 0, description: "Closed: consecutive failures so far" })),
	retryAfterMs: t.Optional(t.Integer({ minimum: 0, description: "Open: time until one probe may pass" })),
});

export function circuitRoutes(s: { auth: AuthService; guard: DestinationGuard }) {
	return new Elysia({ prefix: "/api/v1/circuits", detail: { tags: ["admin"] } })
		.use(authPlugin(s.auth))
		.get("", async () => ({ items: await s.guard.list() }), {
			auth: "admin",
			response: { 200: t.Object({ items: t.Array(CircuitView) }), 401: ErrorBody, 403: ErrorBody },
			detail: {
				summary: "Delivery circuits known to Redis (administrators only)",
				description:
					"One circuit per destination, shared by every worker. A circuit that has not been used for an hour is forgotten (reads as closed).",
			},
		})
		.post(
			"/:key/reset",
			async ({ params }) => {
				if (!(await s.guard.reset(params.key))) throw new NotFound("circuit");
				return { key: params.key, reset: true as const };
			},
			{
				auth: "admin",
				params: t.Object({ key: t.String({ minLength: 1, description: "Destination key, URL-encoded" }) }),
				response: {
					200: t.Object({ key: t.String(), reset: t.Literal(true) }),
					401: ErrorBody,
					403: ErrorBody,
					404: ErrorBody,
				},
				detail: {
					summary: "Close a circuit (administrators only)",
					description:
						"Deletes the circuit's state, so the next delivery to that destination runs at once. A probe in flight is forgotten.",
				},
			},
		);
}
