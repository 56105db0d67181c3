/** `dev`'s mail catcher: what Herald's own email sender sends shows up in its web inbox. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { loadConfig } from "../src/config.ts";
import { type MailCatcher, startMailCatcher } from "../src/infra/embedded/mail-catcher.ts";
import { freePort } from "../src/infra/process.ts";
import { createSenders, senderSettings } from "../src/outbound/senders/index.ts";

let catcher: MailCatcher;
const smtpPort = freePort();

beforeAll(async () => {
	catcher = await startMailCatcher({ smtpPort, uiPort: freePort() });
});

afterAll(async () => {
	await catcher.stop();
});

test("a verification-style email sent through the email sender is in the inbox, as JSON and as a page", async () => {
	const config = loadConfig({ SMTP_PORT: String(smtpPort), HERALD_ENV: "test" });
	const senders = createSenders(senderSettings(config.delivery));
	try {
		await senders.email({
			deliveryId: crypto.randomUUID(),
			attempt: 1,
			idempotencyKey: "mail-catcher-test",
			target: { kind: "email", address: "ada@example.com" },
			message: {
				notificationId: crypto.randomUUID(),
				userId: crypto.randomUUID(),
				kind: "verification",
				title: "Your Herald code: 123456",
				body: "Enter 123456 to confirm this address.",
				data: {},
				createdAt: new Date().toISOString(),
			},
		});
	} finally {
		await senders.close();
	}
	const messages = (await (await fetch(`${catcher.uiUrl}/messages`)).json()) as {
		subject: string;
		to: string[];
		raw: string;
	}[];
	expect(messages).toHaveLength(1);
	expect(messages[0]).toMatchObject({ subject: "Your Herald code: 123456", to: ["ada@example.com"] });
	expect(messages[0]!.raw).toContain("123456");
	const page = await (await fetch(catcher.uiUrl)).text();
	expect(page).toContain("Your Herald code: 123456");
});
