/**
 * Sync push: idempotent per client (replays and resent pushes are
 * `duplicate`), gaps stop the push, an invalid mutation is consumed as
 * `rejected` with the REST error body and does not block the queue, a client
 * group belongs to its first user, and push and REST are one model.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { pushEdge } from "../src/sync/edge.ts";
import type { TestApp } from "./support/app.ts";
import { withSignedInUser } from "./support/debts.ts";
import { Device, newId } from "./support/sync.ts";
import { type Registered, register } from "./support/tokens.ts";

let app: TestApp;
let user: Registered;
withSignedInUser((a, u) => {
	[app, user] = [a, u];
});

const contact = (id = newId(), name = "Alice") => ({ name: "createContact", args: { id, name } });
let device: Device;
beforeAll(() => {
	device = new Device(app, user.accessToken);
});

describe("push", () => {
	test("applies a mutation, visible through REST and in the response's patch", async () => {
		const id = newId();
		device.mutate("createContact", { id, name: "Alice" });
		const res = await device.push();
		expect(res.results).toEqual([{ id: 1, status: "applied" }]);
		expect(res.lastMutationIds).toEqual({ [device.clientId]: 1 });
		expect(res.patch).toEqual([
			{ op: "put", key: `contact/${id}`, value: expect.objectContaining({ id, name: "Alice" }) },
		]);
		const rest = await app.request("GET", `/api/v1/contacts/${id}`, { token: user.accessToken });
		expect(rest.status).toBe(200);
		expect(rest.body.name).toBe("Alice");
	});

	test("a replayed push is a no-op reported as duplicate", async () => {
		const d = new Device(app, user.accessToken);
		const id = newId();
		const m = d.mutate("createContact", { id, name: "Replayed" });
		const first = await d.rawPush([m]);
		expect(first.body.results).toEqual([{ id: 1, status: "applied" }]);
		const again = await d.rawPush([m]);
		expect(again.status).toBe(200);
		expect(again.body.results).toEqual([{ id: 1, status: "duplicate" }]);
		expect(again.body.patch).toEqual([]);
		const rows = await app.db.sql`select id from contacts where id = ${id}`;
		expect(rows.length).toBe(1);
	});

	test("response lost, push resent with more mutations: the sent ones are duplicates, the new one applies", async () => {
		const d = new Device(app, user.accessToken);
		const [a, b] = [newId(), newId()];
		d.mutate("createContact", { id: a, name: "A" });
		d.mutate("updateContact", { id: a, note: "first" });
		await d.rawPush(); // response "lost": the device keeps its queue
		d.mutate("createContact", { id: b, name: "B" });
		const res = await d.push();
		expect(res.results.map((r: any) => r.status)).toEqual(["duplicate", "duplicate", "applied"]);
		expect(res.lastMutationIds[d.clientId]).toBe(3);
		const notes = await app.db.sql`select note from contacts where id = ${a}`;
		expect(notes[0]!.note).toBe("first");
	});

	test("a gap stops at the gap: ids 1, 2, 4 leave the last id at 2", async () => {
		const d = new Device(app, user.accessToken);
		const ids = [newId(), newId(), newId()];
		const res = await d.rawPush([
			{ id: 1, ...contact(ids[0]) },
			{ id: 2, ...contact(ids[1]) },
			{ id: 4, ...contact(ids[2]) },
		]);
		expect(res.status).toBe(200);
		expect(res.body.results).toEqual([
			{ id: 1, status: "applied" },
			{ id: 2, status: "applied" },
		]);
		expect(res.body.lastMutationIds).toEqual({ [d.clientId]: 2 });
		const rows = await app.db.sql`select id from contacts where id = ${ids[2]!}`;
		expect(rows.length).toBe(0);
	});

	test("an invalid mutation is rejected with the REST error body and consumed; the valid ones after it apply", async () => {
		const d = new Device(app, user.accessToken);
		const rest = await app.request("POST", "/api/v1/contacts", {
			token: user.accessToken,
			body: { name: "" },
		});
		expect(rest.status).toBe(422);
		const good = newId();
		const res = await d.rawPush([
			{ id: 1, name: "createContact", args: { id: newId(), name: "" } },
			{ id: 2, name: "updateTransaction", args: { id: newId(), description: "x" } },
			{ id: 3, name: "noSuchMutation", args: {} },
			{ id: 4, ...contact(good, "Good") },
		]);
		expect(res.status).toBe(200);
		const [invalid, missing, unknown, applied] = res.body.results;
		expect(invalid).toEqual({
			id: 1,
			status: "rejected",
			error: {
				status: 422,
				code: rest.body.error.code,
				message: rest.body.error.message,
				details: rest.body.error.details,
			},
		});
		expect(missing).toEqual({
			id: 2,
			status: "rejected",
			error: { status: 404, code: "not_found", message: "transaction not found" },
		});
		expect(unknown.status).toBe("rejected");
		expect(unknown.error).toMatchObject({
			status: 422,
			details: { field: "name", reason: "unknown_mutation" },
		});
		expect(applied).toEqual({ id: 4, status: "applied" });
		expect(res.body.lastMutationIds[d.clientId]).toBe(4);
		// Replayed: all four are duplicates now, nothing runs again.
		const again = await d.rawPush(
			res.body.results.map((r: any, i: number) => ({ id: r.id, ...contact(newId(), `x${i}`) })),
		);
		expect(again.body.results.map((r: any) => r.status)).toEqual([
			"duplicate",
			"duplicate",
			"duplicate",
			"duplicate",
		]);
	});

	test("a reminder whose rule has no occurrence is rejected (422 on rrule), and the queue goes on", async () => {
		const d = new Device(app, user.accessToken);
		const [bad, kept, after] = [newId(), newId(), newId()];
		const rrule = "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2";
		const reminder = { title: "r", dueAt: "2030-01-01T09:00", timeZone: "UTC" };
		const res = await d.rawPush([
			{ id: 1, name: "createReminder", args: { id: kept, ...reminder, rrule: "FREQ=DAILY" } },
			{ id: 2, name: "createReminder", args: { id: bad, ...reminder, rrule } },
			{ id: 3, name: "updateReminder", args: { id: kept, rrule: "FREQ=YEARLY;BYWEEKNO=53;BYMONTH=1" } },
			{ id: 4, ...contact(after, "After") },
		]);
		expect(res.status).toBe(200);
		expect(res.body.results.map((r: any) => [r.status, r.error?.status, r.error?.details?.field])).toEqual([
			["applied", undefined, undefined],
			["rejected", 422, "rrule"],
			["rejected", 422, "rrule"],
			["applied", undefined, undefined],
		]);
		expect(res.body.lastMutationIds[d.clientId]).toBe(4);
		expect((await app.db.sql`select 1 from reminders where id = ${bad}`).length).toBe(0);
		const [row] = await app.db.sql`select rrule from reminders where id = ${kept}`;
		expect(row!.rrule).toBe("FREQ=DAILY");
	});

	test("only transient failures are retried: any other error is consumed as rejected with a 500 body", () => {
		for (const code of ["40001", "40P01", "08006", "53300", "57014", "57P01", "58030", "55P03"])
			expect({ code, r: pushEdge.reject(Object.assign(new Error("db"), { code })) }).toEqual({
				code,
				r: undefined,
			});
		for (const code of ["CONNECTION_CLOSED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT", "ECONNREFUSED"])
			expect({ code, r: pushEdge.reject(Object.assign(new Error("net"), { code })) }).toEqual({
				code,
				r: undefined,
			});
		expect(pushEdge.reject(pushEdge.unavailable())).toBeUndefined();
		const internal = { status: 500, code: "internal", message: "internal server error" };
		expect(pushEdge.reject(new Error("Maximum iterations (10000) exceeded"))).toEqual(internal);
		expect(pushEdge.reject(new TypeError("x is undefined"))).toEqual(internal);
		expect(pushEdge.reject(Object.assign(new Error("syntax"), { code: "42601" }))).toEqual(internal);
		expect(pushEdge.reject(Object.assign(new Error("check"), { code: "23514" }))?.status).toBe(422);
	});

	test("a NUL in one mutation rejects that mutation (the REST body's error), not the whole queue", async () => {
		const d = new Device(app, user.accessToken);
		const rest = await app.request("POST", "/api/v1/contacts", {
			token: user.accessToken,
			body: { name: "a\u0000b" },
		});
		expect(rest.status).toBe(422);
		const good = newId();
		const res = await d.rawPush([
			{ id: 1, name: "createContact", args: { id: newId(), name: "a\u0000b" } },
			{ id: 2, ...contact(good, "After") },
		]);
		expect(res.status).toBe(200);
		expect(res.body.results).toEqual([
			{
				id: 1,
				status: "rejected",
				error: {
					status: 422,
					code: rest.body.error.code,
					message: rest.body.error.message,
					details: rest.body.error.details,
				},
			},
			{ id: 2, status: "applied" },
		]);
		// Other routes still refuse a NUL anywhere in the body.
		const pull = await app.request("POST", "/api/v1/sync/pull", {
			token: user.accessToken,
			body: { clientGroupId: d.clientGroupId, cookie: "1\u0000" },
		});
		expect(pull.status).toBe(422);
	});

	test("a transient failure answers 503 and consumes nothing: the mutations before it stay, a resend applies the rest", async () => {
		const d = new Device(app, user.accessToken);
		// A real serialization failure (SQLSTATE 40001) from the database for one row name, then not any more.
		await app.db.sql.unsafe(`
			create function test_transient() returns trigger language plpgsql as $$
			begin
				if new.name = 'Transient' then raise exception 'try again' using errcode = '40001'; end if;
				return new;
			end $$;
			create trigger test_transient before insert on contacts for each row execute function test_transient();`);
		const [before, flaky] = [newId(), newId()];
		d.mutate("createContact", { id: before, name: "Before" });
		d.mutate("createContact", { id: flaky, name: "Transient" });
		try {
			const res = await d.rawPush();
			expect(res.status).toBe(503);
			expect(res.body.error.code).toBe("unavailable");
			expect(res.headers.get("retry-after")).toBe("1");
		} finally {
			await app.db.sql.unsafe("drop trigger test_transient on contacts; drop function test_transient();");
		}
		const [client] = await app.db.sql`
			select last_mutation_id::int as n from sync_clients where client_group_id = ${d.clientGroupId}`;
		expect(client!.n).toBe(1);
		expect((await app.db.sql`select 1 from contacts where id = ${flaky}`).length).toBe(0);
		const again = await d.push();
		expect(again.results).toEqual([
			{ id: 1, status: "duplicate" },
			{ id: 2, status: "applied" },
		]);
		expect((await app.db.sql`select 1 from contacts where id = ${flaky}`).length).toBe(1);
	});

	test("another user's client group is 403 (push and pull), and nothing is written", async () => {
		const other = await register(app);
		const mine = new Device(app, user.accessToken);
		await mine.pull();
		const theirs = new Device(app, other.accessToken, mine.clientGroupId);
		const id = newId();
		theirs.mutate("createContact", { id, name: "Intruder" });
		const push = await theirs.rawPush();
		expect(push.status).toBe(403);
		expect(push.body.error.code).toBe("forbidden");
		expect((await theirs.rawPull(null)).status).toBe(403);
		expect((await app.db.sql`select 1 from contacts where id = ${id}`).length).toBe(0);
	});

	test("bad envelopes are 4xx with the usual body: no auth 401, bad body 422, unknown schema version 422", async () => {
		const noAuth = await app.request("POST", "/api/sync/push", {
			body: { clientGroupId: "g", clientId: "c", schemaVersion: "1", mutations: [] },
		});
		expect(noAuth.status).toBe(401);
		const bad = await app.request("POST", "/api/sync/push", {
			token: user.accessToken,
			body: {
				clientGroupId: "g",
				clientId: "c",
				schemaVersion: "1",
				mutations: [{ id: 0, name: "x", args: {} }],
			},
		});
		expect(bad.status).toBe(422);
		expect(bad.body.error.code).toBe("validation_failed");
		const version = await app.request("POST", "/api/v1/sync/push", {
			token: user.accessToken,
			body: { clientGroupId: crypto.randomUUID(), clientId: "c", schemaVersion: "2", mutations: [] },
		});
		expect(version.status).toBe(422);
		expect(version.body.error.details).toEqual({ field: "schemaVersion", reason: "unsupported" });
	});
});
