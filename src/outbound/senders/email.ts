/**
 * Email delivery over SMTP through one pooled nodemailer transport, created
 * with the sender and released by `close()`.
 *
 * Every message is plain text plus an HTML alternative (all message text is
 * HTML-escaped) and carries `X-Herald-Idempotency-Key`, `X-Herald-Delivery`
 * and a `Message-ID` derived from the idempotency key, so every attempt of one
 * delivery has the same Message-ID (mail clients and some MTAs drop
 * duplicates by it).
 *
 * Outcomes: an SMTP 5xx reply (except 503, per nodemailer's `permanent`) is
 * non-retryable with the reply code as `statusCode`; 4xx replies, connection
 * failures and timeouts are retryable. Authentication failures are retryable
 * too, although 5xx ("smtp_auth_failed"): they are Herald's misconfiguration,
 * not the recipient's fault, so deliveries should wait (and open the circuit)
 * rather than be dropped.
 */
import { createHash } from "node:crypto";
import nodemailer, { type NodemailerError } from "nodemailer";
import { DeliveryFailed, type DeliveryMessage, type Sender } from "../types.ts";

export interface EmailSenderSettings {
	host: string;
	port: number;
	/** TLS from the first byte (465); otherwise STARTTLS when the server offers it. */
	secure: boolean;
	user?: string;
	password?: string;
	/** MAIL_FROM, e.g. `Herald <herald@example.com>`. */
	from: string;
	maxConnections?: number;
	connectionTimeoutMs?: number;
	socketTimeoutMs?: number;
}

export type EmailSender = Sender & { close(): void };

const escapeHtml = (text: string) =>
	text.replace(
		/[&<>"']/g,
		(c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
	);

/** Subject, text and HTML of a message; everything user-supplied is escaped in the HTML. */
export function renderEmail(message: DeliveryMessage): { subject: string; text: string; html: string } {
	const subject = message.title.replace(/[\r\n]+/g, " ").trim();
	const paragraphs = message.body
		.split(/\r?\n\s*\r?\n/)
		.map((p) => `<p>${escapeHtml(p.trim()).replace(/\r?\n/g, "<br>")}</p>`)
		.join("\n");
	const html = [
		"<!doctype html>",
		`<html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>`,
		`<body><h1>${escapeHtml(subject)}</h1>`,
		paragraphs,
		"</body></html>",
	].join("\n");
	return { subject, text: `${subject}\n\n${message.body}\n`, html };
}

/** `<id@domain>`, the domain taken from the sender address. */
export function messageIdFor(idempotencyKey: string, from: string): string {
	const domain = from.match(/@([A-Za-z0-9.-]+)>?\s*$/)?.[1] ?? "herald.invalid";
	const local = /^[A-Za-z0-9._-]{1,64}$/.test(idempotencyKey)
		? idempotencyKey
		: createHash("sha256").update(idempotencyKey).digest("hex").slice(0, 40);
	return `<herald.${local}@${domain}>`;
}

/** The outcome of a nodemailer failure (see the module comment). */
export function smtpFailure(error: unknown): DeliveryFailed {
	const e = (error ?? {}) as NodemailerError;
	const code = typeof e.code === "string" ? e.code : undefined;
	const statusCode = typeof e.responseCode === "number" ? e.responseCode : undefined;
	const detail = [statusCode, code].filter((x) => x !== undefined).join(" ") || "error";
	const options = { ...(statusCode !== undefined ? { statusCode } : {}) };
	if (code === "EAUTH" || code === "ENOAUTH")
		return new DeliveryFailed(`smtp: authentication failed (${detail})`, true, {
			...options,
			reason: "smtp_auth_failed",
		});
	if (e.permanent === true || (statusCode !== undefined && statusCode >= 500 && statusCode !== 503))
		return new DeliveryFailed(`smtp: rejected (${detail})`, false, { ...options, reason: "smtp_rejected" });
	if (statusCode === undefined && (code === "EENVELOPE" || code === "EMESSAGE"))
		return new DeliveryFailed(`smtp: invalid message (${detail})`, false, { reason: "invalid_message" });
	return new DeliveryFailed(`smtp: ${statusCode !== undefined ? "deferred" : "failed"} (${detail})`, true, {
		...options,
		reason: statusCode !== undefined ? "smtp_deferred" : "smtp_unavailable",
	});
}

export function createEmailSender(settings: EmailSenderSettings): EmailSender {
	const transport = nodemailer.createTransport({
		pool: true,
		host: settings.host,
		port: settings.port,
		secure: settings.secure,
		maxConnections: settings.maxConnections ?? 5,
		connectionTimeout: settings.connectionTimeoutMs ?? 10_000,
		greetingTimeout: settings.connectionTimeoutMs ?? 10_000,
		socketTimeout: settings.socketTimeoutMs ?? 30_000,
		...(settings.user ? { auth: { user: settings.user, pass: settings.password ?? "" } } : {}),
	});

	const send: Sender = async (request) => {
		if (request.target.kind !== "email")
			throw new DeliveryFailed(`email sender got a ${request.target.kind} target`, false, {
				reason: "wrong_channel",
			});
		const { subject, text, html } = renderEmail(request.message);
		try {
			await transport.sendMail({
				from: settings.from,
				to: request.target.address,
				subject,
				text,
				html,
				messageId: messageIdFor(request.idempotencyKey, settings.from),
				headers: {
					"X-Herald-Idempotency-Key": request.idempotencyKey,
					"X-Herald-Delivery": request.deliveryId,
				},
			});
		} catch (error) {
			throw smtpFailure(error);
		}
		return { statusCode: 250 };
	};
	return Object.assign(send, { close: () => transport.close() });
}
