/**
 * Login/register throttling per account and per client address (Redis-backed),
 * through the full app with small limits.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hashPassword } from "../src/auth/passwords.ts";
import { startTestApp, type TestApp } from "./support/app.ts";

const PASSWORD = "correct horse battery staple";
const uniqueEmail = () => `${crypto.randomUUID()}@example.com`;

let app: TestApp;
function useApp(env: Record<string, string>) {
	beforeAll(async () => {
		app = await startTestApp(env);
	});
	afterAll(async () => {
		await app.stop();
	});
}

const login = (email: string, password: string, headers: Record<string, string> = {}) =>
	app.request("POST", "/api/v1/auth/login", { body: { email, password }, headers });
const register = (email: string, headers: Record<string, string> = {}) =>
	app.request("POST", "/api/v1/auth/register", {
		body: { email, password: PASSWORD, displayName: "Ada" },
		headers,
	});

/** A user written straight to the database, so that no limited request is spent creating it. */
async function seedUser(): Promise<string> {
	const email = uniqueEmail();
	await app.db.sql`insert into users (email, password_hash, display_name)
		values (${email}, ${await hashPassword(PASSWORD)}, 'Seeded')`;
	return email;
}

function expectRateLimited(res: Awaited<ReturnType<TestApp["request"]>>) {
	expect(res.status).toBe(429);
	expect(res.body.error.code).toBe("rate_limited");
	const retryAfter = res.headers.get("retry-after");
	expect(retryAfter).toMatch(/^\d+$/);
	expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
	expect(Number(retryAfter)).toBeLessThanOrEqual(900);
	expect(res.body.error.details.retryAfterSeconds).toBe(Number(retryAfter));
	expect(res.body.accessToken).toBeUndefined();
}

describe("per-account limit", () => {
	useApp({ AUTH_LIMIT_PER_ACCOUNT: "3", AUTH_LIMIT_PER_ADDRESS: "100" });

	test("after 3 failed logins one account is 429, even with the right password; other accounts pass", async () => {
		const email = await seedUser();
		expect((await login(email, PASSWORD)).status).toBe(200);
		for (let i = 0; i < 3; i++) expect((await login(email, "not the password at all")).status).toBe(401);
		expectRateLimited(await login(email, PASSWORD));
		// The account key ignores the email's case.
		expectRateLimited(await login(email.toUpperCase(), PASSWORD));

		const other = await seedUser();
		const res = await login(other, PASSWORD);
		expect(res.status).toBe(200);
		expect(res.body.accessToken).toBeString();
	});

	test("ten wrong passwords at once: exactly 3 are checked (401), the other 7 are 429", async () => {
		const email = await seedUser();
		const results = await Promise.all(
			Array.from({ length: 10 }, (_, i) => login(email, `wrong password number ${i}`)),
		);
		const statuses = results.map((r) => r.status).sort();
		expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
		expectRateLimited(await login(email, PASSWORD));
	});

	test("successful logins never count: ten in a row all pass", async () => {
		const email = await seedUser();
		for (let i = 0; i < 10; i++) expect((await login(email, PASSWORD)).status).toBe(200);
		expect((await login(email, "wrong once")).status).toBe(401);
		expect((await login(email, PASSWORD)).status).toBe(200);
	});

	test("register counts against the account too and writes nothing when limited", async () => {
		const email = uniqueEmail();
		for (let i = 0; i < 3; i++) expect((await login(email, PASSWORD)).status).toBe(401);
		expectRateLimited(await register(email));
		const [row] = await app.db.sql`select 1 from users where lower(email) = lower(${email})`;
		expect(row).toBeUndefined();

		expect((await register(uniqueEmail())).status).toBe(201);
	});
});

describe("per-address limit behind a trusted proxy", () => {
	useApp({ AUTH_LIMIT_PER_ACCOUNT: "100", AUTH_LIMIT_PER_ADDRESS: "3", TRUST_PROXY: "true" });

	test("after 3 failed logins from one address it is 429 across accounts; another address passes", async () => {
		const first = { "x-forwarded-for": "203.0.113.7" };
		const second = { "x-forwarded-for": "203.0.113.8" };
		const email = await seedUser();
		expect((await login(email, PASSWORD, first)).status).toBe(200); // a good login costs nothing
		for (let i = 0; i < 3; i++) expect((await login(uniqueEmail(), PASSWORD, first)).status).toBe(401);
		expectRateLimited(await login(await seedUser(), PASSWORD, first));

		const res = await login(email, PASSWORD, second);
		expect(res.status).toBe(200);
		expect(res.body.accessToken).toBeString();
	});

	test("a client cannot escape the limit by prepending its own X-Forwarded-For entries", async () => {
		// The trusted proxy appends the address it saw; everything left of that is whatever the client sent.
		const via = (spoofed: string) => ({ "x-forwarded-for": `${spoofed}, 203.0.113.30` });
		for (let i = 1; i <= 3; i++)
			expect((await login(uniqueEmail(), PASSWORD, via(`198.51.100.${i}`))).status).toBe(401);
		expectRateLimited(await login(uniqueEmail(), PASSWORD, via("198.51.100.4")));
		expectRateLimited(await login(uniqueEmail(), PASSWORD, { "x-forwarded-for": "203.0.113.30" }));
	});

	test("register is limited by address as well and writes nothing when limited", async () => {
		const limited = { "x-forwarded-for": "203.0.113.20" };
		for (let i = 0; i < 3; i++) expect((await register(uniqueEmail(), limited)).status).toBe(201);
		const before = (await app.db.sql<{ n: number }[]>`select count(*)::int as n from users`)[0]!.n;
		const email = uniqueEmail();
		expectRateLimited(await register(email, limited));
		expect((await app.db.sql<{ n: number }[]>`select count(*)::int as n from users`)[0]!.n).toBe(before);

		expect((await register(email, { "x-forwarded-for": "203.0.113.21" })).status).toBe(201);
	});
});

describe("per-address limit without a trusted proxy", () => {
	useApp({ AUTH_LIMIT_PER_ACCOUNT: "100", AUTH_LIMIT_PER_ADDRESS: "3" });

	test("X-Forwarded-For is ignored: changing it does not escape the limit", async () => {
		for (let i = 0; i < 3; i++)
			expect((await login(uniqueEmail(), PASSWORD, { "x-forwarded-for": `198.51.100.${i}` })).status).toBe(
				401,
			);
		expectRateLimited(await login(uniqueEmail(), PASSWORD, { "x-forwarded-for": "198.51.100.99" }));
	});
});
