/**
 * A Herald API instance for the schema fuzzer: the real app on the test run's
 * services (its own database), listening on loopback. Prints one JSON line
 * `{ url, token, adminToken }` when ready; stops on SIGTERM.
 */
import { startTestApp } from "../support/app.ts";
import { testEnv } from "../support/env.ts";

const t = await startTestApp({ ADMIN_EMAIL: "admin@example.com", ADMIN_PASSWORD: "admin-password-0123" });
const server = t.app.listen({ hostname: "127.0.0.1", port: 0 });
const url = `http://127.0.0.1:${server.server!.port}`;
const login = async (email: string, password: string) => {
	const res = await t.request("POST", "/api/v1/auth/login", { body: { email, password } });
	return res.body.accessToken as string;
};
await t.request("POST", "/api/v1/auth/register", {
	body: { email: "fuzz@example.com", password: "fuzz-password-0123", displayName: "Fuzz" },
});
const token = await login("fuzz@example.com", "fuzz-password-0123");
const adminToken = await login("admin@example.com", "admin-password-0123");
process.stdout.write(`${JSON.stringify({ url, token, adminToken })}\n`);
const stop = async () => {
	await server.stop();
	await t.stop();
	await (await testEnv()).stop();
	process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
