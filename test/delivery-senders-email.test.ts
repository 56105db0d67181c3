/** The email sender against a real SMTP server (smtp-server on 127.0.0.1, port 0). */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { freePort } from "../src/infra/process.ts";
import { createEmailSender, type EmailSender, renderEmail } from "../src/outbound/senders/email.ts";
import type { DeliveryRequest } from "../src/outbound/types.ts";
import { failure } from "./support/senders.ts";

const received: { to: string[]; raw: string }[] = [];

function reject(code: number, text: string): Error {
	return Object.assign(new Error(text), { responseCode: code });
}

const smtp = new SMTPServer({
	authOptional: true,
	disabledCommands: ["STARTTLS"],
	logger: false,
	onRcptTo(address, _session, callback) {
		if (address.address.startsWith("gone@")) return callback(reject(550, "5.1.1 No such user"));
		if (address.address.startsWith("later@")) return callback(reject(451, "4.3.0 Try again later"));
		callback();
	},
	onData(stream, session, callback) {
		const chunks: Buffer[] = [];
		stream.on("data", (chunk: Buffer) => chunks.push(chunk));
		stream.on("end", () => {
			received.push({
				to: session.envelope.rcptTo.map((r) => r.address),
				raw: Buffer.concat(chunks).toString("utf8"),
			});
			callback();
		});
	},
});

let sender: EmailSender;

beforeAll(async () => {
	await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
	const { port } = smtp.server.address() as AddressInfo;
	sender = createEmailSender({
		host: "127.0.0.1",
		port,
		secure: false,
		from: "Herald <herald@example.test>",
	});
});

afterAll(async () => {
	sender.close();
	await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

const request = (address: string, idempotencyKey = "idem-mail-1"): DeliveryRequest => ({
	deliveryId: "dlv-mail",
	attempt: 1,
	idempotencyKey,
	target: { kind: "email", address },
	message: {
		notificationId: "n-1",
		userId: "u-1",
		kind: "event.reminder",
		title: "Dinner <tonight> & more",
		body: 'Bring <script>alert("x")</script> snacks.\nSee you.',
		data: {},
		createdAt: "2026-01-01T00:00:00.000Z",
	},
});

test("HTML escapes everything the notification says", () => {
	const { subject, text, html } = renderEmail(request("a@example.test").message);
	expect(subject).toBe("Dinner <tonight> & more");
	expect(text).toContain('<script>alert("x")</script>');
	expect(html).toContain("Dinner &lt;tonight&gt; &amp; more");
	expect(html).toContain("Bring &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; snacks.<br>See you.");
	expect(html).not.toContain("<script>");
});

test("a message arrives with text and HTML parts and the idempotency headers", async () => {
	received.length = 0;
	expect(await sender(request("alice@example.test"))).toEqual({ statusCode: 250 });
	expect(received).toHaveLength(1);
	const { to, raw } = received[0]!;
	expect(to).toEqual(["alice@example.test"]);
	expect(raw).toMatch(/^X-Herald-Idempotency-Key: idem-mail-1\r?$/m);
	expect(raw).toMatch(/^X-Herald-Delivery: dlv-mail\r?$/m);
	expect(raw).toMatch(/^Message-ID: <herald\.idem-mail-1@example\.test>\r?$/im);
	expect(raw).toMatch(/^From: Herald <herald@example\.test>\r?$/m);
	expect(raw).toMatch(/^Content-Type: multipart\/alternative/m);
	expect(raw).toMatch(/^Content-Type: text\/plain/m);
	expect(raw).toMatch(/^Content-Type: text\/html/m);
	expect(raw).toContain("&lt;script&gt;");
});

test("two attempts of one delivery share the Message-ID", async () => {
	received.length = 0;
	await sender(request("bob@example.test", "key with spaces/and@signs"));
	await sender(request("bob@example.test", "key with spaces/and@signs"));
	const ids = received.map((m) => m.raw.match(/^Message-ID: (.+?)\r?$/im)?.[1]);
	expect(ids[0]).toMatch(/^<herald\.[0-9a-f]{40}@example\.test>$/);
	expect(ids[1]).toBe(ids[0]);
});

test("550 from the server is permanent, 451 is retryable", async () => {
	const gone = await failure(sender(request("gone@example.test")));
	expect([gone.retryable, gone.options.statusCode, gone.options.reason]).toEqual([
		false,
		550,
		"smtp_rejected",
	]);
	const later = await failure(sender(request("later@example.test")));
	expect([later.retryable, later.options.statusCode, later.options.reason]).toEqual([
		true,
		451,
		"smtp_deferred",
	]);
	// the pool still works after rejections
	expect(await sender(request("carol@example.test"))).toEqual({ statusCode: 250 });
});

test("no SMTP server listening is retryable", async () => {
	const down = createEmailSender({
		host: "127.0.0.1",
		port: freePort(),
		secure: false,
		from: "herald@example.test",
		connectionTimeoutMs: 2_000,
	});
	try {
		const error = await failure(down(request("dave@example.test")));
		expect([error.retryable, error.options.statusCode, error.options.reason]).toEqual([
			true,
			undefined,
			"smtp_unavailable",
		]);
	} finally {
		down.close();
	}
});
