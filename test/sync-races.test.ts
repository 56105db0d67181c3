/**
 * Sync interleavings, made deterministic with transactions the test holds
 * open (a client group claimed by a request still in flight, the tombstone
 * purge meeting a user's writer), and ids one
 * user's devices still track (a deleted reminder's tombstone) that another
 * user cannot take over.
 */
import { expect, test } from "bun:test";
import { purgeTombstones } from "../src/sync/repository.ts";
import type { TestApp } from "./support/app.ts";
import { createContact, withSignedInUser } from "./support/debts.ts";
import { Device, holdTransaction, newId, waitingForLock } from "./support/sync.ts";
import { type Registered, register } from "./support/tokens.ts";

let app: TestApp;
let user: Registered;
withSignedInUser((a, u) => {
	[app, user] = [a, u];
});

test("a client group claimed by a concurrent request of another user: 403, not 500, nothing written", async () => {
	const other = await register(app);
	const groupId = crypto.randomUUID();
	const claim = await holdTransaction(
		app,
		(tx) => tx`insert into sync_client_groups (id, user_id) values (${groupId}, ${other.userId})`,
	);
	const d = new Device(app, user.accessToken, groupId);
	const id = newId();
	d.mutate("createContact", { id, name: "Late" });
	const push = d.rawPush();
	await waitingForLock(app, "%sync_client_groups%");
	await claim.release();
	const res = await push;
	expect(res.status).toBe(403);
	expect(res.body.error.code).toBe("forbidden");
	expect((await app.db.sql`select 1 from contacts where id = ${id}`).length).toBe(0);
});

test("a client group the same user claims concurrently: both requests go on", async () => {
	const groupId = crypto.randomUUID();
	const claim = await holdTransaction(
		app,
		(tx) => tx`insert into sync_client_groups (id, user_id) values (${groupId}, ${user.userId})`,
	);
	const d = new Device(app, user.accessToken, groupId);
	const pull = d.rawPull(null);
	await waitingForLock(app, "%sync_client_groups%");
	await claim.release();
	expect((await pull).status).toBe(200);
});

test("another user cannot create a reminder with the id of a deleted one: the owner's tombstone stays", async () => {
	const other = await register(app);
	const id = newId();
	const reminder = { title: "r", dueAt: "2030-01-01T09:00", timeZone: "UTC" };
	const mine = new Device(app, user.accessToken);
	mine.mutate("createReminder", { id, ...reminder });
	await mine.push();
	await mine.pull();
	expect(mine.state.has(`reminder/${id}`)).toBe(true);
	const del = await app.request("DELETE", `/api/v1/reminders/${id}`, { token: user.accessToken });
	expect(del.status).toBe(204);

	const rest = await app.request("POST", "/api/v1/reminders", {
		token: other.accessToken,
		body: { id, ...reminder },
	});
	expect(rest.status).toBe(409);
	expect(rest.body.error.details).toEqual({ field: "id" });
	const theirs = new Device(app, other.accessToken);
	theirs.mutate("createReminder", { id, ...reminder });
	const push = await theirs.push();
	expect(push.results[0]).toMatchObject({
		status: "rejected",
		error: { status: 409, details: { field: "id" } },
	});
	expect((await app.db.sql`select 1 from reminders where id = ${id}`).length).toBe(0);

	const { ops } = await mine.pull();
	expect(ops).toEqual([{ op: "del", key: `reminder/${id}` }]);
	expect(mine.state.has(`reminder/${id}`)).toBe(false);
	// The owner may bring its own id back.
	const again = await app.request("POST", "/api/v1/reminders", {
		token: user.accessToken,
		body: { id, ...reminder },
	});
	expect(again.status).toBe(201);
});

test("the tombstone purge goes user by user in small batches: a user whose writer holds its version row holds up only that user", async () => {
	const [x, y] = [await register(app), await register(app)].sort((a, b) =>
		a.userId.localeCompare(b.userId),
	) as [Registered, Registered];
	const tombstones = async (u: Registered, n: number) => {
		for (let i = 0; i < n; i++) {
			const c = await createContact(app, u.accessToken, { name: `gone ${i}` });
			expect((await app.request("DELETE", `/api/v1/contacts/${c.id}`, { token: u.accessToken })).status).toBe(
				204,
			);
		}
		await app.db
			.sql`update sync_rows set changed_at = now() - interval '100 days' where owner_id = ${u.userId} and deleted`;
	};
	await tombstones(x, 5);
	await tombstones(y, 1);
	const [top] = await app.db.sql`select max(version)::int as v from sync_rows where owner_id = ${x.userId}`;
	// y (purged after x: users go in id order) has a writer in flight: its version row is locked.
	const writer = await holdTransaction(
		app,
		(tx) => tx`select 1 from sync_versions where user_id = ${y.userId} for update`,
	);
	const purge = purgeTombstones(app.db.sql, 90, 2);
	await waitingForLock(app, "%sync_versions%");
	// x's tombstones are purged and committed already, in batches of 2, while y's wait.
	expect((await app.db.sql`select 1 from sync_rows where owner_id = ${x.userId} and deleted`).length).toBe(0);
	const [xv] = await app.db
		.sql`select purged_through::int as p from sync_versions where user_id = ${x.userId}`;
	expect(xv!.p).toBe(top!.v);
	expect((await app.db.sql`select 1 from sync_rows where owner_id = ${y.userId} and deleted`).length).toBe(1);
	await writer.release();
	expect(await purge).toBe(6);
	expect((await app.db.sql`select 1 from sync_rows where owner_id = ${y.userId} and deleted`).length).toBe(0);
});
