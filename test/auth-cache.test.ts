/**
 * The live-session cache against a real database: hits skip the loader,
 * the invalidation triggers drop what they name, a lookup that raced an
 * invalidation is not kept, `settle()` waits for every listener's
 * acknowledgement (held deterministically by a listener of our own), and a
 * cache turned off always loads.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
	AUTH_CHANNEL,
	AUTH_LISTENER_NAME,
	createSessionCache,
	type SessionCache,
} from "../src/auth/session-cache.ts";
import { createSessionConnection } from "../src/infra/db/sql.ts";
import { createLogger } from "../src/infra/log.ts";
import type { UserRow } from "../src/users/repository.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { eventually } from "./support/wait.ts";

let db: TestDatabase;
const caches: SessionCache[] = [];
const settings = { maxEntries: 1000, ttlSeconds: 60, barrierTimeoutMs: 5000, heartbeatMs: 1000 };

beforeAll(async () => {
	db = await freshDatabase();
});
afterAll(async () => {
	await Promise.all(caches.map((c) => c.stop()));
	await db.drop();
});

async function cache(overrides: Partial<typeof settings> = {}): Promise<SessionCache> {
	const c = createSessionCache({
		sql: db.sql,
		log: createLogger("error"),
		settings: { ...settings, ...overrides },
	});
	caches.push(c);
	await c.live();
	return c;
}

async function session(): Promise<{ user: UserRow; sessionId: string }> {
	const [user] = await db.sql<UserRow[]>`
		insert into users (email, display_name) values (${`${crypto.randomUUID()}@example.com`}, 'C') returning *`;
	const [s] = await db.sql<
		{ id: string }[]
	>`insert into auth_sessions (user_id) values (${user!.id}) returning id`;
	return { user: user!, sessionId: s!.id };
}

/** A loader that counts its calls and reads the live row as the auth service does. */
function loader(sessionId: string, userId: string) {
	const calls = { n: 0 };
	const load = async () => {
		calls.n++;
		const [row] = await db.sql<UserRow[]>`
			select u.* from users u join auth_sessions s on s.user_id = u.id
			where u.id = ${userId} and s.id = ${sessionId} and s.revoked_at is null`;
		return row;
	};
	return { calls, load };
}

describe("session cache", () => {
	test("a second check is served from memory; revocation and user changes drop the entry", async () => {
		const c = await cache();
		const { user, sessionId } = await session();
		const { calls, load } = loader(sessionId, user.id);
		expect((await c.session(sessionId, user.id, load))?.id).toBe(user.id);
		expect((await c.session(sessionId, user.id, load))?.id).toBe(user.id);
		expect(calls.n).toBe(1);
		// A token whose subject is someone else never matches the entry.
		expect(await c.session(sessionId, crypto.randomUUID(), async () => undefined)).toBeUndefined();

		await db.sql`update users set display_name = 'Changed' where id = ${user.id}`;
		await c.settle();
		expect((await c.session(sessionId, user.id, load))?.display_name).toBe("Changed");
		expect(calls.n).toBe(2);

		await db.sql`update auth_sessions set revoked_at = now() where id = ${sessionId}`;
		await c.settle();
		expect(await c.session(sessionId, user.id, load)).toBeUndefined();
		expect(calls.n).toBe(3);
	});

	test("a lookup that raced an invalidation is not kept", async () => {
		const c = await cache();
		const { user, sessionId } = await session();
		let release!: () => void;
		const gate = new Promise<void>((r) => {
			release = r;
		});
		let loads = 0;
		// Reads the row while it is live, then waits: the revocation commits and is applied meanwhile.
		const slow = async () => {
			loads++;
			const row = await loader(sessionId, user.id).load();
			await gate;
			return row;
		};
		const pending = c.session(sessionId, user.id, slow);
		await eventually(() => loads === 1, { what: "the slow lookup started" });
		await db.sql`update auth_sessions set revoked_at = now() where id = ${sessionId}`;
		await c.settle();
		release();
		expect((await pending)?.id).toBe(user.id); // concurrent with the revocation: either answer is fair
		const { calls, load } = loader(sessionId, user.id);
		expect(await c.session(sessionId, user.id, load)).toBeUndefined();
		expect(calls.n).toBe(1);
	});

	test("settle waits until every listener has acknowledged, and gives up after its timeout", async () => {
		const c = await cache();
		// A listener registered under the cache's name that acknowledges only when told to.
		const barriers: string[] = [];
		const silent = createSessionConnection(db.sql, {
			applicationName: AUTH_LISTENER_NAME,
			onnotify: (channel, payload) => {
				if (channel === AUTH_CHANNEL && payload.startsWith("b:")) barriers.push(payload.slice(2));
			},
			onclose: () => {},
		});
		try {
			const [{ pid }] = (await silent`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
			await silent`listen ${silent(AUTH_CHANNEL)}`;
			let settled = false;
			const settling = c.settle().then(() => {
				settled = true;
			});
			await eventually(() => barriers.length === 1, { what: "the barrier reaching the silent listener" });
			expect(settled).toBe(false);
			await silent`select pg_notify(${AUTH_CHANNEL}, ${`a:${pid}:${barriers[0]}`})`;
			await settling;
			expect(settled).toBe(true);

			const quick = await cache({ barrierTimeoutMs: 200 });
			const t0 = performance.now();
			await quick.settle(); // nobody acknowledges for the silent listener: bounded
			expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
		} finally {
			await silent.end({ timeout: 1 });
		}
	}, 20_000);

	test("turned off, every check loads", async () => {
		const c = createSessionCache({
			sql: db.sql,
			log: createLogger("error"),
			settings: { ...settings, maxEntries: 0 },
		});
		caches.push(c);
		expect(c.state()).toBe("off");
		const { user, sessionId } = await session();
		const { calls, load } = loader(sessionId, user.id);
		await c.session(sessionId, user.id, load);
		await c.session(sessionId, user.id, load);
		expect(calls.n).toBe(2);
		await c.settle();
	});
});
