/**
 * The caller's delivery channels. Webhook URLs pass the SSRF check when they
 * are registered or changed (the webhook sender checks again, at each send);
 * a webhook's signing secret is returned once, at creation; an email channel
 * receives notifications only after its address confirmed a code.
 */
import { randomBytes } from "node:crypto";
import { Conflict, Invalid, NotFound, RateLimited } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import type { Logger } from "../infra/log.ts";
import { isProtectedHeader } from "../outbound/senders/webhook.ts";
import { assertPublicDestination, DestinationRefused, parseAllowList } from "../outbound/ssrf.ts";
import type { Sender } from "../outbound/types.ts";
import {
	type ChannelView,
	type CreateChannelBody,
	type CreatedChannel,
	MAX_CHANNELS_PER_USER,
	MAX_HEADERS,
	type UpdateChannelBody,
} from "./model.ts";
import {
	type ChannelRow,
	countChannels,
	deleteChannel,
	findChannel,
	insertChannel,
	listChannels,
	lockChannel,
	markVerified,
	recordWrongCode,
	setVerificationCode,
	toChannelView,
	updateChannel,
} from "./repository.ts";
import {
	CODE_TTL_MS,
	codeMatches,
	hashCode,
	MAX_WRONG_CODES,
	newCode,
	RESEND_COOLDOWN_MS,
	verificationRequest,
} from "./verification.ts";

export interface ChannelServiceDeps {
	sql: Sql;
	/** Sends verification codes. */
	email: Sender;
	/** WEBHOOK_ALLOW_PRIVATE: private hosts/CIDRs webhooks may reach. */
	webhookAllowPrivate: string[];
	log: Logger;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

export function createChannelService(deps: ChannelServiceDeps) {
	const { sql, log } = deps;
	const allowPrivate = parseAllowList(deps.webhookAllowPrivate);

	/** http(s), no credentials, and every address the host resolves to public or allow-listed. */
	async function checkUrl(raw: string): Promise<string> {
		try {
			const { url } = await assertPublicDestination(raw, { allowPrivate });
			return url.toString();
		} catch (error) {
			if (error instanceof DestinationRefused)
				throw new Invalid(error.message, { field: "url", reason: error.reason });
			throw error;
		}
	}

	async function sendCode(channel: ChannelRow): Promise<boolean> {
		const code = newCode();
		const now = new Date();
		await setVerificationCode(
			sql,
			channel.id,
			hashCode(channel.id, code),
			new Date(now.getTime() + CODE_TTL_MS),
		);
		try {
			const request = verificationRequest(
				{ id: channel.id, userId: channel.user_id, address: channel.address! },
				code,
				now,
			);
			await deps.email(request);
			return true;
		} catch (error) {
			log.warn("verification email not sent", { channelId: channel.id, error: String(error) });
			return false;
		}
	}

	async function owned(userId: string, id: string): Promise<ChannelRow> {
		const row = await findChannel(sql, userId, id);
		if (!row) throw new NotFound("channel");
		return row;
	}

	return {
		async create(userId: string, body: CreateChannelBody): Promise<CreatedChannel> {
			const fields = await newChannelFields(body, checkUrl);
			if ((await countChannels(sql, userId)) >= MAX_CHANNELS_PER_USER)
				throw new Conflict(`at most ${MAX_CHANNELS_PER_USER} channels per user`);
			const secret = body.kind === "webhook" ? randomBytes(32).toString("base64url") : undefined;
			const row = await insertChannel(sql, { userId, ...fields, secret });
			if (row.kind === "webhook") return { ...toChannelView(row), secret };
			if (row.kind === "email") return { ...toChannelView(row), verificationSent: await sendCode(row) };
			return toChannelView(row);
		},

		list: async (userId: string): Promise<ChannelView[]> =>
			(await listChannels(sql, userId)).map(toChannelView),

		get: async (userId: string, id: string): Promise<ChannelView> => toChannelView(await owned(userId, id)),

		async update(userId: string, id: string, body: UpdateChannelBody): Promise<ChannelView> {
			const current = await owned(userId, id);
			if ((body.url !== undefined || body.headers !== undefined) && current.kind !== "webhook")
				throw new Invalid("url and headers belong to webhook channels", {
					field: body.url !== undefined ? "url" : "headers",
				});
			const row = await updateChannel(sql, userId, id, {
				name: body.name?.trim(),
				enabled: body.enabled,
				url: body.url === undefined ? undefined : await checkUrl(body.url),
				headers: body.headers === undefined ? undefined : checkHeaders(body.headers),
			});
			if (!row) throw new NotFound("channel");
			return toChannelView(row);
		},

		async remove(userId: string, id: string): Promise<void> {
			if (!(await deleteChannel(sql, userId, id))) throw new NotFound("channel");
		},

		/** Idempotent: an already verified channel answers 200 whatever the code. */
		async verify(userId: string, id: string, code: string): Promise<ChannelView> {
			const outcome = await sql.begin(async (tx) => {
				const row = await lockChannel(tx, userId, id);
				if (!row) throw new NotFound("channel");
				if (row.kind !== "email")
					throw new Conflict("only email channels are verified", { reason: "not_email" });
				if (row.verified_at) return row;
				if (!row.verification_code_hash || !row.verification_expires_at) return "no_code" as const;
				if (row.verification_expires_at.getTime() <= Date.now()) return "expired" as const;
				if (codeMatches(row.id, code, row.verification_code_hash)) return markVerified(tx, row.id);
				await recordWrongCode(tx, row.id, row.verification_attempts + 1 >= MAX_WRONG_CODES);
				return "wrong_code" as const;
			});
			if (typeof outcome !== "string") return toChannelView(outcome);
			const messages = {
				no_code: "no code is pending: request a new one",
				expired: "the code has expired: request a new one",
				wrong_code: "the code is not correct",
			};
			throw new Invalid(messages[outcome], { field: "code", reason: outcome });
		},

		/** A fresh code for an unverified email channel (at most one per 30 s). */
		async resendCode(userId: string, id: string): Promise<{ verificationSent: boolean }> {
			const row = await owned(userId, id);
			if (row.kind !== "email")
				throw new Conflict("only email channels are verified", { reason: "not_email" });
			if (row.verified_at) throw new Conflict("the channel is already verified");
			const issuedAt = row.verification_expires_at ? row.verification_expires_at.getTime() - CODE_TTL_MS : 0;
			const wait = issuedAt + RESEND_COOLDOWN_MS - Date.now();
			if (wait > 0) throw new RateLimited(Math.ceil(wait / 1000));
			return { verificationSent: await sendCode(row) };
		},
	};
}

export type ChannelService = ReturnType<typeof createChannelService>;

/** Kind-specific fields (the schema already gave each kind only its own). */
async function newChannelFields(body: CreateChannelBody, checkUrl: (url: string) => Promise<string>) {
	const name = body.name?.trim();
	switch (body.kind) {
		case "webhook": {
			const url = await checkUrl(body.url);
			const headers = checkHeaders(body.headers ?? {});
			return { kind: body.kind, name: name ?? defaultName(new URL(url).host), url, headers };
		}
		case "email":
			return { kind: body.kind, name: name ?? defaultName(body.address), address: body.address };
		case "telegram":
			return { kind: body.kind, name: name ?? defaultName(`Telegram ${body.chatId}`), chatId: body.chatId };
	}
}

function checkHeaders(headers: Record<string, string>): Record<string, string> {
	const entries = Object.entries(headers);
	if (entries.length > MAX_HEADERS) throw new Invalid(`at most ${MAX_HEADERS} headers`, { field: "headers" });
	for (const [name, value] of entries) {
		if (!HEADER_NAME.test(name))
			throw new Invalid(`invalid header name ${JSON.stringify(name)}`, { field: "headers" });
		if (isProtectedHeader(name))
			throw new Invalid(`header ${name} is set by Herald`, { field: "headers", header: name });
		if (/[\r\n\0]/.test(value))
			throw new Invalid(`header ${name} has a line break in its value`, { field: "headers" });
	}
	return Object.fromEntries(entries);
}

/** A name made from the destination fits the column's 100 characters (an address may have 254). */
const defaultName = (text: string) => (text.length <= 100 ? text : `${text.slice(0, 99)}…`);
