/**
 * /api/v1/channels: where the caller's notifications go (webhook, email,
 * Telegram). Owner only: another user's channel answers 404, never 403.
 */
import { Elysia, t } from "elysia";
import { authPlugin } from "../auth/plugin.ts";
import type { AuthService } from "../auth/service.ts";
import {
	ChannelList,
	ChannelParams,
	ChannelView,
	CreateChannelBody,
	CreatedChannel,
	ErrorBody,
	UpdateChannelBody,
	VerifyBody,
} from "./model.ts";
import type { ChannelService } from "./service.ts";

const NoContent = t.Void({ description: "done, no body" });

export function channelRoutes(deps: { auth: AuthService; channels: ChannelService }) {
	const { channels } = deps;
	return new Elysia({ prefix: "/api/v1/channels", detail: { tags: ["channels"] } })
		.use(authPlugin(deps.auth))
		.post(
			"",
			async ({ principal, body, set }) => {
				const channel = await channels.create(principal.user.id, body);
				set.status = 201;
				return channel;
			},
			{
				auth: true,
				body: CreateChannelBody,
				response: { 201: CreatedChannel, 401: ErrorBody, 409: ErrorBody, 422: ErrorBody },
				detail: {
					summary: "Add a delivery channel",
					description:
						"`webhook` needs `url` (and optional `headers`); the response carries the signing `secret` " +
						"once: every request is signed with HMAC-SHA256 over it and carries an `Idempotency-Key` " +
						"that stays the same across retries. URLs that resolve to private, loopback, link-local or " +
						"metadata addresses are refused with 422 and `details.reason`. `email` needs `address`: a " +
						"6-digit code is emailed and the channel receives notifications only after " +
						"`POST /channels/{id}/verify`. `telegram` needs `chatId`. At most 20 channels (409).",
				},
			},
		)
		.get("", async ({ principal }) => ({ items: await channels.list(principal.user.id) }), {
			auth: true,
			response: { 200: ChannelList, 401: ErrorBody },
			detail: { summary: "The caller's channels, oldest first", description: "Secrets are never shown." },
		})
		.get("/:id", ({ principal, params }) => channels.get(principal.user.id, params.id), {
			auth: true,
			params: ChannelParams,
			response: { 200: ChannelView, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
			detail: { summary: "One of the caller's channels" },
		})
		.patch("/:id", ({ principal, params, body }) => channels.update(principal.user.id, params.id, body), {
			auth: true,
			params: ChannelParams,
			body: UpdateChannelBody,
			response: { 200: ChannelView, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
			detail: {
				summary: "Rename, enable/disable, or change a webhook's url or headers",
				description:
					"A new `url` passes the same SSRF check as at creation (422). `headers` replaces all extra " +
					"headers. Disabled channels receive nothing; deliveries already planned are not sent.",
			},
		})
		.delete(
			"/:id",
			async ({ principal, params, set }) => {
				await channels.remove(principal.user.id, params.id);
				set.status = 204;
			},
			{
				auth: true,
				params: ChannelParams,
				response: { 204: NoContent, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
				detail: { summary: "Remove a channel and its delivery history" },
			},
		)
		.post(
			"/:id/verify",
			({ principal, params, body }) => channels.verify(principal.user.id, params.id, body.code),
			{
				auth: true,
				params: ChannelParams,
				body: VerifyBody,
				response: { 200: ChannelView, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
				detail: {
					summary: "Confirm an email channel with the code it received",
					description:
						"422 with `details.reason`: `wrong_code`, `expired` (after 15 minutes) or `no_code` (none " +
						"pending, e.g. after 5 wrong codes): ask for a new one. Verifying again is a no-op.",
				},
			},
		)
		.post("/:id/verification", ({ principal, params }) => channels.resendCode(principal.user.id, params.id), {
			auth: true,
			params: ChannelParams,
			response: {
				200: t.Object({ verificationSent: t.Boolean() }),
				401: ErrorBody,
				404: ErrorBody,
				409: ErrorBody,
				422: ErrorBody,
				429: ErrorBody,
			},
			detail: {
				summary: "Email a new verification code",
				description:
					"Replaces the pending code. At most one every 30 seconds (429); 409 when already verified.",
			},
		});
}
