/**
 * Sync pull: REST and push are one model, the cookie follows commit order (a
 * transaction that took its version first and commits last is still pulled),
 * stale, purged and unknown cookies get `clear` plus a snapshot, users are
 * isolated, account deletion takes the sync state along, and every commit
 * pokes the user's sockets. Pages: sync-pages.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createMaintenanceActivities } from "../activities/maintenance/index.ts";
import { features } from "../src/features.ts";
import { createLogger } from "../src/infra/log.ts";
import type { TestApp } from "./support/app.ts";
import { createContact, withSignedInUser } from "./support/debts.ts";
import { Device, newId, serverState, sorted } from "./support/sync.ts";
import { type Registered, register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";
import { connectWs } from "./support/ws.ts";

let app: TestApp;
let user: Registered;
withSignedInUser((a, u) => {
	[app, user] = [a, u];
});

const rest = (method: string, path: string, body?: unknown, token = user.accessToken) =>
	app.request(method, path, { token, body });

async function converged(...devices: Device[]) {
	const server = await serverState(app, user.userId);
	for (const d of devices) {
		await d.pull();
		expect(sorted(d.state)).toEqual(sorted(server));
	}
	return server;
}

describe("one model", () => {
	test("a REST change is in the next pull; a delete is a del; nothing new is an empty patch, same cookie", async () => {
		const d = new Device(app, user.accessToken);
		await d.pull();
		const c = await createContact(app, user.accessToken, { name: "Rest" });
		const { ops } = await d.pull();
		expect(ops).toEqual([
			{ op: "put", key: `contact/${c.id}`, value: expect.objectContaining({ name: "Rest" }) },
		]);
		expect((await rest("DELETE", `/api/v1/contacts/${c.id}`)).status).toBe(204);
		expect((await d.pull()).ops).toEqual([{ op: "del", key: `contact/${c.id}` }]);
		const cookie = d.cookie;
		const empty = await d.rawPull(cookie);
		expect(empty.body).toEqual({ cookie, lastMutationIds: {}, patch: [], hasMore: false });
	});

	test("the pushing device adopts the push's cookie and pulls nothing of its own back", async () => {
		const phone = new Device(app, user.accessToken);
		const laptop = new Device(app, user.accessToken);
		await phone.pull();
		await laptop.pull();
		const id = newId();
		phone.mutate("createContact", { id, name: "Mine" });
		phone.mutate("updateContact", { id, note: "n" });
		const push = await phone.push();
		expect(push.cookie).not.toBeNull();
		expect(phone.state.get(`contact/${id}`)).toMatchObject({ name: "Mine", note: "n" });
		expect((await phone.pull()).ops).toEqual([]);
		expect((await laptop.pull()).ops.map((o: any) => o.key)).toEqual([`contact/${id}`]);
		// Someone else wrote in between: the push cannot move the cookie (the device must pull that change).
		await createContact(app, user.accessToken, { name: "Other" });
		phone.mutate("updateContact", { id, note: "m" });
		expect((await phone.push()).cookie).toBeNull();
		await converged(phone, laptop);
	});

	test("contacts, transactions and reminders: deleting a contact deletes its transactions and reminders on the device", async () => {
		const d = new Device(app, user.accessToken);
		const [c, t, r] = [newId(), newId(), newId()];
		d.mutate("createContact", { id: c, name: "Bob" });
		d.mutate("createTransaction", {
			id: t,
			contactId: c,
			kind: "lent",
			amountMinor: 500,
			currency: "EUR",
			occurredOn: "2026-01-10",
		});
		d.mutate("createReminder", {
			id: r,
			title: "ask Bob",
			dueAt: "2030-01-01T09:00",
			subjectContactId: c,
			timeZone: "UTC",
		});
		d.mutate("settleContact", { id: newId(), contactId: c, currency: "EUR", amountMinor: 200 });
		const res = await d.push();
		expect(res.results.map((x: any) => x.status)).toEqual(["applied", "applied", "applied", "applied"]);
		expect(d.state.get(`transaction/${t}`)).toMatchObject({ status: "partial" });
		expect([...d.state.keys()].filter((k) => k.startsWith("transaction/")).length).toBe(2);
		d.mutate("deleteContact", { id: c });
		await d.push();
		expect([...d.state.keys()].some((k) => k.includes(c) || k.includes(t) || k.includes(r))).toBe(false);
		const other = new Device(app, user.accessToken);
		await other.pull();
		expect(other.state.has(`reminder/${r}`)).toBe(false);
		d.mutate("restoreContact", { id: c });
		await d.push();
		expect(d.state.has(`reminder/${r}`)).toBe(true);
		await converged(d, other);
	});
});

describe("commit order", () => {
	test("late-committing writer: a transaction that took its version first and commits last is still pulled", async () => {
		const d = new Device(app, user.accessToken);
		await d.pull();
		const before = Number(d.cookie);
		let release!: () => void;
		const held = new Promise<void>((r) => {
			release = r;
		});
		let taken!: (v: number) => void;
		const version = new Promise<number>((r) => {
			taken = r;
		});
		const late = app.db.sql.begin(async (tx) => {
			await tx`insert into contacts (owner_id, name) values (${user.userId}, 'late')`;
			const [row] = await tx<{ v: string }[]>`select herald_sync_version(${user.userId})::text as v`;
			taken(Number(row!.v));
			await held;
		});
		expect(await version).toBe(before + 1);
		// A second writer starts after the first took its version; its commit must wait for the first.
		const early = createContact(app, user.accessToken, { name: "early" });
		await eventually(
			async () =>
				(
					await app.db.sql`
						select 1 from pg_stat_activity
						where datname = current_database() and wait_event_type = 'Lock' and state = 'active'`
				).length > 0,
			{ what: "the second writer waiting for the version row" },
		);
		// Meanwhile a pull sees neither (and does not move past the held version).
		const between = await d.pull();
		expect(between.ops).toEqual([]);
		expect(Number(d.cookie)).toBe(before);
		release();
		await late;
		await early;
		const after = await d.pull();
		expect(after.ops.map((o: any) => o.value.name)).toEqual(["late", "early"]);
		expect(Number(d.cookie)).toBe(before + 2);
	});
});

describe("stale, purged and unknown cookies; isolation", () => {
	test("garbage, a cookie from the future and a page cookie from another bound get clear and a snapshot", async () => {
		const d = new Device(app, user.accessToken);
		await d.pull();
		for (const cookie of ["garbage", "999999999", "p.bm90LWpzb24", "p.WzAsOTk5OTk5OSxudWxsLDAse31d"]) {
			const res = await d.rawPull(cookie);
			expect(res.status).toBe(200);
			expect(res.body.patch[0]).toEqual({ op: "clear" });
			expect(res.body.cookie).toBe(d.cookie!);
		}
	});

	test("tombstones past the retention are purged by the daily cleanup; a cookie from before gets clear", async () => {
		const d = new Device(app, user.accessToken);
		await d.pull();
		const old = d.cookie;
		const c = await createContact(app, user.accessToken, { name: "Doomed" });
		await rest("DELETE", `/api/v1/contacts/${c.id}`);
		const kept = await createContact(app, user.accessToken, { name: "Recent" });
		await rest("DELETE", `/api/v1/contacts/${kept.id}`);
		const fresh = new Device(app, user.accessToken);
		await fresh.pull();
		await app.db.sql`update sync_rows set changed_at = now() - interval '91 days' where id = ${c.id}`;
		await app.db.sql`update sync_rows set changed_at = now() - interval '89 days' where id = ${kept.id}`;
		const cleanup = createMaintenanceActivities({
			sql: app.db.sql,
			config: app.services.config,
			log: createLogger("silent"),
			features,
			temporal: app.services.temporal,
			taskQueue: "unused",
		});
		expect(await cleanup.listCleanupTasks()).toContain("sync-tombstones");
		expect(await cleanup.runCleanupTask("sync-tombstones")).toBeGreaterThanOrEqual(1);
		expect((await app.db.sql`select 1 from sync_rows where id = ${c.id}`).length).toBe(0);
		// Within the retention (90 days by default) a tombstone stays.
		expect((await app.db.sql`select 1 from sync_rows where id = ${kept.id} and deleted`).length).toBe(1);
		// The device from before the purge would miss the del: it starts over.
		const stale = await d.rawPull(old);
		expect(stale.body.patch[0]).toEqual({ op: "clear" });
		expect(stale.body.patch.some((o: any) => o.key === `contact/${c.id}`)).toBe(false);
		// One that pulled after the delete is still incremental.
		expect((await fresh.pull()).ops).toEqual([]);
		await d.pull();
		expect(sorted(d.state)).toEqual(sorted(fresh.state));
	});

	test("users are isolated: another user's pull holds none of this user's rows", async () => {
		const other = await register(app);
		await createContact(app, user.accessToken, { name: "Private" });
		const theirs = new Device(app, other.accessToken);
		await theirs.pull();
		expect(theirs.state.size).toBe(0);
		const c = await createContact(app, other.accessToken, { name: "Theirs" });
		await theirs.pull();
		expect([...theirs.state.keys()]).toEqual([`contact/${c.id}`]);
		const mine = new Device(app, user.accessToken);
		mine.mutate("updateContact", { id: c.id, name: "Hijack" });
		mine.mutate("deleteContact", { id: c.id });
		const res = await mine.push();
		expect(res.results.map((r: any) => r.error?.status)).toEqual([404, 404]);
		await theirs.pull();
		expect(theirs.state.get(`contact/${c.id}`)!.name).toBe("Theirs");
	});
});

describe("account deletion", () => {
	test("deleting an account with synced rows removes them and its sync state (the commit-time stamps skip a gone user)", async () => {
		const gone = await register(app);
		const d = new Device(app, gone.accessToken);
		const c = newId();
		d.mutate("createContact", { id: c, name: "Bye" });
		d.mutate("createTransaction", {
			id: newId(),
			contactId: c,
			kind: "lent",
			amountMinor: 5,
			currency: "EUR",
			occurredOn: "2026-01-01",
		});
		d.mutate("createReminder", { id: newId(), title: "r", dueAt: "2030-01-01T09:00", subjectContactId: c });
		await d.push();
		const res = await app.request("DELETE", "/api/v1/users/me", { token: gone.accessToken });
		expect(res.status).toBe(204);
		const left = await app.db.sql`
			select (select count(*)::int from sync_rows where owner_id = ${gone.userId}) as rows,
			       (select count(*)::int from sync_versions where user_id = ${gone.userId}) as versions,
			       (select count(*)::int from sync_client_groups where user_id = ${gone.userId}) as groups,
			       (select count(*)::int from contacts where owner_id = ${gone.userId}) as contacts`;
		expect(left[0]).toEqual({ rows: 0, versions: 0, groups: 0, contacts: 0 });
	});
});

describe("pokes", () => {
	let base: string;
	beforeAll(() => {
		const served = app.app.listen({ hostname: "127.0.0.1", port: 0 });
		base = `127.0.0.1:${served.server!.port}`;
	});
	afterAll(async () => {
		await app.services.realtime.stop();
		await app.app.stop();
	});

	test("a commit (REST or push) pokes the user's sockets with the new cookie; other users hear nothing", async () => {
		const other = await register(app);
		const ws = await connectWs(base, `/ws/sync?access_token=${user.accessToken}`);
		const theirs = await connectWs(base, `/ws/sync?access_token=${other.accessToken}`);
		const d = new Device(app, user.accessToken);
		await d.pull();
		await createContact(app, user.accessToken, { name: "Poke" });
		const poke = await ws.next();
		expect(poke).toEqual({ type: "poke", cookie: String(Number(d.cookie) + 1) });
		await d.pull(); // what a poked device does
		expect(d.cookie).toBe(poke.cookie);
		d.mutate("createContact", { id: newId(), name: "Pushed" });
		const push = await d.push();
		expect(push.cookie).toBe(String(Number(poke.cookie) + 1));
		expect(await ws.next()).toEqual({ type: "poke", cookie: push.cookie });
		await expect(theirs.next(300)).rejects.toThrow(/no message/);
		ws.close();
		theirs.close();
	});
});
