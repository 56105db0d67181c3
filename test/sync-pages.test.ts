/**
 * Sync pull in pages: pages follow the version as a number; 10,000 rows
 * pulled in pages of 500 while writes go on: a row changed before it was
 * sent is not lost, the pull goes on until a pass in which nothing moved, and
 * the cookie it ends with holds the server's state; SYNC_PULL_MAX_LIMIT caps
 * a page, SYNC_PUSH_MAX_PATCH a push response's patch.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { createContact, withSignedInUser } from "./support/debts.ts";
import { Device, newId, serverState, sorted } from "./support/sync.ts";
import { register } from "./support/tokens.ts";

let app: TestApp;
withSignedInUser((a) => {
	app = a;
});

describe("pages", () => {
	test("pages follow the version as a number: 12 commits pulled one row per page, every row once, in commit order", async () => {
		const owner = await register(app);
		const made: string[] = [];
		for (let i = 0; i < 12; i++)
			made.push((await createContact(app, owner.accessToken, { name: `c${i}` })).id);
		const d = new Device(app, owner.accessToken);
		const { pages, ops } = await d.pull(1);
		expect(pages.length).toBe(12);
		expect(ops.filter((o) => o.op === "put").map((o: any) => o.value.id)).toEqual(made);
	});

	test("a row changed between pages before it was sent is in the state the client adopts", async () => {
		const owner = await register(app);
		const [a, b, c] = [
			await createContact(app, owner.accessToken, { name: "a" }),
			await createContact(app, owner.accessToken, { name: "b" }),
			await createContact(app, owner.accessToken, { name: "c" }),
		];
		const d = new Device(app, owner.accessToken);
		const first = await d.rawPull(null, 1);
		expect(first.body.patch.map((o: any) => o.value?.id ?? o.op)).toEqual(["clear", a.id]);
		// c (not sent yet) changes: its version moves above the pull's bound.
		const edit = await app.request("PATCH", `/api/v1/contacts/${c.id}`, {
			token: owner.accessToken,
			body: { note: "changed between pages" },
		});
		expect(edit.status).toBe(200);
		const pages = [first.body];
		let cookie = first.body.cookie;
		while (pages.at(-1).hasMore) {
			const res = await d.rawPull(cookie, 1);
			expect(res.status).toBe(200);
			pages.push(res.body);
			cookie = res.body.cookie;
			expect(pages.length).toBeLessThan(10);
		}
		d.apply(pages.flatMap((p) => p.patch));
		expect(d.state.get(`contact/${c.id}`)).toMatchObject({ note: "changed between pages" });
		expect(d.state.has(`contact/${b.id}`)).toBe(true);
		expect(sorted(d.state)).toEqual(sorted(await serverState(app, owner.userId)));
		// The cookie adopted is the version that state is: nothing more to pull.
		const [v] = await app.db
			.sql`select version::text as v from sync_versions where user_id = ${owner.userId}`;
		expect(cookie).toBe(v!.v);
		expect((await d.rawPull(cookie)).body.patch).toEqual([]);
	});

	test("10,000 rows in pages of 500 while writes go on: nothing missed, the adopted cookie holds the server's state", async () => {
		const owner = await register(app);
		await app.db.sql`
			insert into contacts (owner_id, name) select ${owner.userId}, 'bulk ' || g from generate_series(1, 10000) g`;
		const d = new Device(app, owner.accessToken);
		const ids = (
			await app.db.sql<{ id: string }[]>`select id from contacts where owner_id = ${owner.userId} order by id`
		).map((r) => r.id);
		let cookie: string | null = null;
		const pages: any[] = [];
		let writes = 0;
		for (;;) {
			const res = await d.rawPull(cookie, 500);
			expect(res.status).toBe(200);
			pages.push(res.body);
			cookie = res.body.cookie;
			if (!res.body.hasMore) break;
			if (writes === 19) continue; // writes during the first pass only, then the pull must end
			// Writes between pages: a new row, an edit of one already sent and one not yet sent, a delete.
			const n = writes++;
			await createContact(app, owner.accessToken, { name: `new ${n}` });
			await app.request("PATCH", `/api/v1/contacts/${ids[n]}`, {
				token: owner.accessToken,
				body: { note: `edit ${n}` },
			});
			await app.request("PATCH", `/api/v1/contacts/${ids[9999 - n]}`, {
				token: owner.accessToken,
				body: { note: `late ${n}` },
			});
			await app.request("DELETE", `/api/v1/contacts/${ids[5000 + n]}`, { token: owner.accessToken });
		}
		// 20 pages of the first pass, then one over what the 19 write rounds changed (76 rows).
		expect(pages.length).toBe(21);
		expect(pages[0].patch[0]).toEqual({ op: "clear" });
		expect(pages.slice(1).some((p) => p.patch.some((o: any) => o.op === "clear"))).toBe(false);
		for (const p of pages)
			expect(p.patch.filter((o: any) => o.op !== "clear").length).toBeLessThanOrEqual(500);
		d.apply(pages.flatMap((p) => p.patch));
		d.cookie = cookie;
		expect(d.state.get(`contact/${ids[9999]}`)).toMatchObject({ note: "late 0" });
		expect(sorted(d.state)).toEqual(sorted(await serverState(app, owner.userId)));
		// Each write round added one contact and deleted one.
		expect(d.state.size).toBe(10000);
		const { pages: again } = await d.pull();
		expect(again.flatMap((p) => p.patch)).toEqual([]);
	});
});

describe("SYNC_PULL_MAX_LIMIT and SYNC_PUSH_MAX_PATCH", () => {
	let capped: TestApp;
	beforeAll(async () => {
		capped = await startTestApp({ SYNC_PULL_MAX_LIMIT: "2", SYNC_PUSH_MAX_PATCH: "2" });
	});
	afterAll(async () => {
		await capped?.stop();
	});

	test("caps a pull's limit: asking for 100 rows with a cap of 2 gives pages of 2", async () => {
		const owner = await register(capped);
		for (let i = 0; i < 5; i++) await createContact(capped, owner.accessToken, { name: `p${i}` });
		const d = new Device(capped, owner.accessToken);
		const { pages } = await d.pull(100);
		expect(pages.map((p) => p.patch.filter((o: any) => o.op === "put").length)).toEqual([2, 2, 1]);
		expect(d.state.size).toBe(5);
	});

	test("a push that changed more rows than the cap answers no patch and cookie null; the pull brings them", async () => {
		const owner = await register(capped);
		const d = new Device(capped, owner.accessToken);
		await d.pull();
		for (let i = 0; i < 2; i++) d.mutate("createContact", { id: newId(), name: `s${i}` });
		const small = await d.push();
		expect(small.patch.length).toBe(2);
		expect(small.cookie).not.toBeNull();
		for (let i = 0; i < 3; i++) d.mutate("createContact", { id: newId(), name: `b${i}` });
		const big = await d.push();
		expect(big.results.map((r: any) => r.status)).toEqual(["applied", "applied", "applied"]);
		expect(big.patch).toEqual([]);
		expect(big.cookie).toBeNull();
		expect(d.state.size).toBe(2);
		const { pages } = await d.pull();
		expect(pages.length).toBe(2);
		expect(sorted(d.state)).toEqual(sorted(await serverState(capped, owner.userId)));
		expect(d.state.size).toBe(5);
	});
});
