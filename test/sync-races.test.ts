/**
 * Sync interleavings, made deterministic with transactions the test holds
 * open: a client group claimed by a request still in flight.
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
