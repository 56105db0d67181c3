/**
 * `dev`'s mail catcher, started when no SMTP server is configured: an SMTP
 * server (the `smtp-server` package) that accepts every message on
 * SMTP_PORT, and a web inbox on MAIL_UI_PORT listing them, newest first
 * (`/` as a page, `/messages` as JSON), so an email channel can be verified
 * end to end in development. Messages live in memory (the last 200). The
 * tests' SMTP stand-in is this same server on free ports.
 */
import type { Server } from "bun";

export interface CaughtMail {
	id: number;
	receivedAt: string;
	from: string;
	to: string[];
	subject: string;
	raw: string;
}

export interface MailCatcher {
	readonly smtpPort: number;
	readonly uiUrl: string;
	messages(): CaughtMail[];
	stop(): Promise<void>;
}

const KEEP = 200;

export async function startMailCatcher(options: { smtpPort: number; uiPort: number }): Promise<MailCatcher> {
	// A development dependency: production images never load it.
	const { SMTPServer } = await import("smtp-server");
	const inbox: CaughtMail[] = [];
	let next = 1;
	const smtp = new SMTPServer({
		authOptional: true,
		disabledCommands: ["STARTTLS"],
		logger: false,
		onData(stream, session, callback) {
			const chunks: Buffer[] = [];
			stream.on("data", (c: Buffer) => chunks.push(c));
			stream.on("end", () => {
				const raw = Buffer.concat(chunks).toString("utf8");
				const header = (name: string) =>
					raw
						.match(new RegExp(`^${name}:\\s*(.*(?:\\r?\\n[ \\t].*)*)`, "im"))?.[1]
						?.replace(/\r?\n[ \t]+/g, " ") ?? "";
				inbox.unshift({
					id: next++,
					receivedAt: new Date().toISOString(),
					from: session.envelope.mailFrom ? session.envelope.mailFrom.address : header("From"),
					to: session.envelope.rcptTo.map((r) => r.address),
					subject: header("Subject"),
					raw,
				});
				inbox.length = Math.min(inbox.length, KEEP);
				callback();
			});
		},
	});
	await new Promise<void>((resolve, reject) => {
		smtp.once("error", reject);
		smtp.listen(options.smtpPort, "127.0.0.1", () => resolve());
	});
	// Port 0 picks a free one (tests): read back the one the server got.
	const smtpPort = (smtp as unknown as { server: { address(): { port: number } } }).server.address().port;
	const ui: Server<undefined> = Bun.serve({
		hostname: "127.0.0.1",
		port: options.uiPort,
		fetch(request) {
			const { pathname } = new URL(request.url);
			if (pathname === "/messages") return Response.json(inbox);
			if (pathname !== "/") return new Response("not found", { status: 404 });
			return new Response(page(inbox), { headers: { "content-type": "text/html; charset=utf-8" } });
		},
	});
	return {
		smtpPort,
		uiUrl: `http://127.0.0.1:${ui.port}`,
		messages: () => [...inbox],
		async stop() {
			ui.stop(true);
			await new Promise<void>((resolve) => smtp.close(() => resolve()));
		},
	};
}

const html = (s: string) =>
	s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

function page(inbox: CaughtMail[]): string {
	const rows = inbox
		.map(
			(m) => `<details><summary><b>${html(m.subject || "(no subject)")}</b> — to ${html(m.to.join(", "))}
from ${html(m.from)} at ${html(m.receivedAt)}</summary><pre>${html(m.raw)}</pre></details>`,
		)
		.join("\n");
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Herald dev mail</title>
<meta http-equiv="refresh" content="5"><style>body{font:14px system-ui;margin:2em}pre{white-space:pre-wrap;background:#f4f4f4;padding:1em}</style>
</head><body><h1>Herald dev mail (${inbox.length})</h1>${rows || "<p>No mail yet.</p>"}</body></html>`;
}
