/**
 * Email channels: the 6-digit code goes out through the email sender to a
 * real SMTP server; the channel is unverified (and receives nothing) until
 * the code is confirmed; wrong and stale codes are refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createDeliveryActivities } from "../activities/deliveries/index.ts";
import { loadConfig } from "../src/config.ts";
import { createNotification } from "../src/notifications/repository.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type SmtpStandIn, startSmtpStandIn } from "./support/receivers.ts";
import { type Registered, register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

let t: TestApp;
let smtp: SmtpStandIn;

beforeAll(async () => {
	smtp = await startSmtpStandIn();
	t = await startTestApp({
		SMTP_HOST: "127.0.0.1",
		SMTP_PORT: String(smtp.port),
		MAIL_FROM: "Herald <herald@example.test>",
	});
});

afterAll(async () => {
	await t.stop();
	await smtp.stop();
});

async function emailChannel(user: Registered, address = `${crypto.randomUUID()}@example.test`) {
	const res = await t.request("POST", "/api/v1/channels", {
		token: user.accessToken,
		body: { kind: "email", address },
	});
	expect(res.status).toBe(201);
	return { id: res.body.id as string, address, body: res.body };
}

describe("email channel verification", () => {
	test("the code arrives by SMTP; only the right code verifies; verifying again is a no-op", async () => {
		const user = await register(t);
		const channel = await emailChannel(user);
		expect(channel.body).toMatchObject({ verified: false, verifiedAt: null, verificationSent: true });
		expect(channel.body.secret).toBeUndefined();
		const code = await eventually(() => smtp.codeFor(channel.address), { what: "the verification email" });
		const mail = smtp.messages.find((m) => m.to.includes(channel.address))!;
		expect(mail.from).toBe("herald@example.test");
		const [row] = await t.db.sql`select verification_code_hash from channels where id = ${channel.id}`;
		expect(row!.verification_code_hash).not.toContain(code); // stored as a hash only

		const path = `/api/v1/channels/${channel.id}/verify`;
		const wrong = await t.request("POST", path, {
			token: user.accessToken,
			body: { code: code === "000000" ? "000001" : "000000" },
		});
		expect(wrong.status).toBe(422);
		expect(wrong.body.error.details.reason).toBe("wrong_code");
		const stranger = await register(t);
		expect((await t.request("POST", path, { token: stranger.accessToken, body: { code } })).status).toBe(404);

		const ok = await t.request("POST", path, { token: user.accessToken, body: { code } });
		expect(ok.status).toBe(200);
		expect(ok.body).toMatchObject({ verified: true, kind: "email", address: channel.address });
		expect(Date.parse(ok.body.verifiedAt)).toBeGreaterThan(0);
		expect(
			(await t.request("POST", path, { token: user.accessToken, body: { code: "999999" } })).status,
		).toBe(200);
	});

	test("only verified email channels are planned for delivery", async () => {
		const user = await register(t);
		const channel = await emailChannel(user);
		const activities = createDeliveryActivities({ sql: t.db.sql, settings: loadConfig({}).delivery });
		const note = async (key: string) =>
			(await createNotification(t.db.sql, { userId: user.userId, kind: "test", title: "Hi", dedupeKey: key }))
				.row.id;
		const before = await activities.planDeliveries(await note("a"));
		expect(before.deliveries).toEqual([]);
		const code = await eventually(() => smtp.codeFor(channel.address));
		await t.request("POST", `/api/v1/channels/${channel.id}/verify`, {
			token: user.accessToken,
			body: { code },
		});
		const after = await activities.planDeliveries(await note("b"));
		expect(after.deliveries).toEqual([{ deliveryId: expect.any(String), kind: "email" }]);
		expect(after.policies.email.maximumAttempts).toBeGreaterThan(0);
		// Planning again is idempotent: the same delivery, no second row.
		expect((await activities.planDeliveries(after.notificationId)).deliveries).toEqual(after.deliveries);
		await t.request("PATCH", `/api/v1/channels/${channel.id}`, {
			token: user.accessToken,
			body: { enabled: false },
		});
		expect((await activities.planDeliveries(await note("c"))).deliveries).toEqual([]);
	});

	test("five wrong codes use the code up; a new one can be asked for, not too often", async () => {
		const user = await register(t);
		const channel = await emailChannel(user);
		const first = await eventually(() => smtp.codeFor(channel.address));
		const path = `/api/v1/channels/${channel.id}/verify`;
		const wrong = first === "111111" ? "222222" : "111111";
		for (let i = 0; i < 5; i++)
			expect(
				(await t.request("POST", path, { token: user.accessToken, body: { code: wrong } })).body.error.details
					.reason,
			).toBe("wrong_code");
		const spent = await t.request("POST", path, { token: user.accessToken, body: { code: first } });
		expect(spent.body.error.details.reason).toBe("no_code");

		const resend = `/api/v1/channels/${channel.id}/verification`;
		const early = await t.request("POST", resend, { token: user.accessToken });
		expect(early.status).toBe(429);
		await t.db
			.sql`update channels set verification_expires_at = now() - interval '1 minute' where id = ${channel.id}`;
		const expired = await t.request("POST", path, { token: user.accessToken, body: { code: first } });
		expect(expired.body.error.details.reason).toBe("no_code");
		await t.db.sql`update channels set verification_expires_at = now() + interval '14 minutes 50 seconds',
			verification_code_hash = 'x' where id = ${channel.id}`;
		expect((await t.request("POST", resend, { token: user.accessToken })).status).toBe(429);
		await t.db.sql`update channels set verification_expires_at = now() where id = ${channel.id}`;
		const stale = await t.request("POST", path, { token: user.accessToken, body: { code: first } });
		expect(stale.body.error.details.reason).toBe("expired");
		const again = await t.request("POST", resend, { token: user.accessToken });
		expect(again.body).toEqual({ verificationSent: true });
		const second = await eventually(() => {
			const c = smtp.codeFor(channel.address);
			return smtp.messages.filter((m) => m.to.includes(channel.address)).length === 2 ? c : undefined;
		});
		const ok = await t.request("POST", path, { token: user.accessToken, body: { code: second } });
		expect(ok.body.verified).toBe(true);
		expect((await t.request("POST", resend, { token: user.accessToken })).status).toBe(409);
	});

	test("an unreachable SMTP server: the channel is created, verificationSent is false", async () => {
		const down = await startTestApp({ SMTP_HOST: "127.0.0.1", SMTP_PORT: "1" });
		try {
			const user = await register(down);
			const res = await down.request("POST", "/api/v1/channels", {
				token: user.accessToken,
				body: { kind: "email", address: "nobody@example.test" },
			});
			expect(res.status).toBe(201);
			expect(res.body).toMatchObject({ verified: false, verificationSent: false });
		} finally {
			await down.stop();
		}
	});
});
