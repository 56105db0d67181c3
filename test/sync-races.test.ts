/**
 * Sync interleavings, made deterministic with transactions the test holds
 * open (a client group claimed by a request still in flight), and ids one
 * user's devices still track (a deleted reminder's tombstone) that another
 * user cannot take over.
 */
import { expect, test } from "bun:test";
import type { TestApp } from "./support/app.ts";
import { withSignedInUser } from "./support/debts.ts";
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
