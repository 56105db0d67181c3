/** /api/v1/deliveries: what happened to the caller's notifications on each channel. */
import { Elysia } from "elysia";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService } from "../auth/service.ts";
import { DeliveryPage, DeliveryQuery, ErrorBody } from "./model.ts";
import type { DeliveryService } from "./service.ts";

export function deliveryRoutes(deps: { auth: AuthService; deliveries: DeliveryService }) {
	const { deliveries } = deps;
	return new Elysia({ prefix: "/api/v1/deliveries", detail: { tags: ["deliveries"] } })
		.use(authPlugin(deps.auth))
		.get("", ({ principal, query }) => deliveries.list(principal.user.id, query), {
			auth: true,
			query: DeliveryQuery,
			response: { 200: DeliveryPage, 401: ErrorBody, 422: ErrorBody },
			detail: {
				summary: "The caller's deliveries, newest first, each with its attempts",
				description:
					"One delivery per notification and channel: `pending` while attempts go on (retries follow " +
					"the kind's retry policy), then `delivered` or `failed`. Each attempt records its outcome, " +
					"HTTP status, latency and error (without secrets).",
			},
		});
}
