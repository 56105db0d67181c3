/**
 * A push whose api process is killed (-9) in the middle: the mutations that
 * committed before the kill stay (with the client's last mutation id), the
 * one in flight and the rest are not consumed, and the same push resent to
 * another api process reports the first ones `duplicate` and applies the
 * rest once. The kill lands deterministically: the test holds the row lock
 * the third mutation needs and kills the process while it waits.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { freePort } from "../src/infra/process.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { herald, killChildren, type RoleProcess, serviceEnv } from "./support/roles.ts";
import { eventually } from "./support/wait.ts";

let db: TestDatabase;
let env: Record<string, string>;

async function startApi(): Promise<{ url: string; role: RoleProcess }> {
	const port = freePort();
	const url = `http://127.0.0.1:${port}`;
	const role = herald(["api"], { ...env, PORT: String(port) });
	await eventually(async () => (await fetch(`${url}/health`).catch(() => undefined))?.status === 200, {
		what: "api process up",
		timeoutMs: 60_000,
	});
	return { url, role };
}

beforeAll(async () => {
	db = await freshDatabase();
	env = {
		...(await serviceEnv(db.url)),
		HOST: "127.0.0.1",
		AUTH_JWT_SECRET: "sync-kill-secret-0123456789-0123456789-012345",
		AUTH_LIMIT_PER_ACCOUNT: "1000",
		AUTH_LIMIT_PER_ADDRESS: "1000",
	};
});

afterAll(async () => {
	killChildren();
	await db.drop();
});

const call = (url: string, token: string | undefined, path: string, body: unknown) =>
	fetch(`${url}${path}`, {
		method: "POST",
		headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
		body: JSON.stringify(body),
	});

test("kill -9 mid-push: committed mutations stay, the rest are not consumed, a resend applies them once", async () => {
	const first = await startApi();
	const reg = await call(first.url, undefined, "/api/v1/auth/register", {
		email: "kill@example.com",
		password: "correct horse battery",
		displayName: "Kill",
	});
	const { accessToken: token } = (await reg.json()) as { accessToken: string };
	const x = (await (await call(first.url, token, "/api/v1/contacts", { name: "X" })).json()) as {
		id: string;
	};
	const [a, b, c] = [Bun.randomUUIDv7(), Bun.randomUUIDv7(), Bun.randomUUIDv7()];
	const push = {
		clientGroupId: "kill-group",
		clientId: "kill-client",
		schemaVersion: "1",
		mutations: [
			{ id: 1, name: "createContact", args: { id: a, name: "A" } },
			{ id: 2, name: "createContact", args: { id: b, name: "B" } },
			{ id: 3, name: "updateContact", args: { id: x.id, note: "from the push" } },
			{ id: 4, name: "createContact", args: { id: c, name: "C" } },
		],
	};

	let release!: () => void;
	const held = new Promise<void>((r) => {
		release = r;
	});
	let locked!: () => void;
	const isLocked = new Promise<void>((r) => {
		locked = r;
	});
	const holder = db.sql.begin(async (tx) => {
		await tx`select id from contacts where id = ${x.id} for update`;
		locked();
		await held;
	});
	await isLocked;
	const inFlight = call(first.url, token, "/api/v1/sync/push", push).catch((e: unknown) => e);
	await eventually(
		async () =>
			(
				await db.sql`
					select 1 from pg_stat_activity
					where datname = current_database() and wait_event_type = 'Lock' and query ilike '%contacts%'`
			).length > 0,
		{ what: "the third mutation waiting for the contact's row lock" },
	);
	first.role.child.kill("SIGKILL");
	await first.role.child.exited;
	expect(await inFlight).toBeInstanceOf(Error);
	release();
	await holder;

	const [client] = await db.sql`select last_mutation_id::int as n from sync_clients where id = 'kill-client'`;
	expect(client!.n).toBe(2);
	const names = await db.sql<{ name: string; note: string }[]>`
		select name, note from contacts where id in (${a}, ${b}, ${c}, ${x.id}) order by name`;
	expect(names.map((r) => [r.name, r.note])).toEqual([
		["A", ""],
		["B", ""],
		["X", ""],
	]);

	const second = await startApi();
	const res = await call(second.url, token, "/api/sync/push", push);
	expect(res.status).toBe(200);
	const body = (await res.json()) as {
		results: { status: string }[];
		lastMutationIds: Record<string, number>;
	};
	expect(body.results.map((r) => r.status)).toEqual(["duplicate", "duplicate", "applied", "applied"]);
	expect(body.lastMutationIds).toEqual({ "kill-client": 4 });
	const after = await db.sql<{ name: string; note: string }[]>`
		select name, note from contacts where id in (${a}, ${b}, ${c}, ${x.id}) order by name`;
	expect(after.map((r) => [r.name, r.note])).toEqual([
		["A", ""],
		["B", ""],
		["C", ""],
		["X", "from the push"],
	]);
	second.role.child.kill("SIGTERM");
	await second.role.child.exited;
}, 120_000);
