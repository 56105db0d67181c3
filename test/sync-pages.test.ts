/**
 * Sync pull in pages: pages follow the version as a number, and 10,000 rows
 * pulled in pages of 500 while writes go on come from one cut (every row
 * once; what changed meanwhile comes with the next pull, which converges),
 * and SYNC_PULL_MAX_LIMIT caps a page.
 */
import { describe, expect, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { createContact, withSignedInUser } from "./support/debts.ts";
import { Device, serverState, sorted } from "./support/sync.ts";
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

	test("10,000 rows in pages of 500 while writes go on: nothing missed, then one more pull converges", async () => {
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
		expect(pages.length).toBe(20);
		expect(pages[0].patch[0]).toEqual({ op: "clear" });
		for (const p of pages)
			expect(p.patch.filter((o: any) => o.op !== "clear").length).toBeLessThanOrEqual(500);
		d.apply(pages.flatMap((p) => p.patch));
		d.cookie = cookie;
		// The cut is the first page's: every key once, none of the writes made meanwhile.
		const keys = pages.flatMap((p) => p.patch.filter((o: any) => o.op === "put").map((o: any) => o.key));
		expect(new Set(keys).size).toBe(keys.length);
		expect(keys.some((k: string) => k === `contact/${ids[9999]}`)).toBe(false); // moved above the cut: next pull
		const server = await serverState(app, owner.userId);
		await d.pull();
		expect(sorted(d.state)).toEqual(sorted(server));
		// Each write round added one contact and deleted one.
		expect(d.state.size).toBe(10000);
	});
});

describe("SYNC_PULL_MAX_LIMIT", () => {
	test("caps a pull's limit: asking for 100 rows with a cap of 2 gives pages of 2", async () => {
		const capped = await startTestApp({ SYNC_PULL_MAX_LIMIT: "2" });
		try {
			const owner = await register(capped);
			for (let i = 0; i < 5; i++) await createContact(capped, owner.accessToken, { name: `p${i}` });
			const d = new Device(capped, owner.accessToken);
			const { pages } = await d.pull(100);
			expect(pages.map((p) => p.patch.filter((o: any) => o.op === "put").length)).toEqual([2, 2, 1]);
			expect(d.state.size).toBe(5);
		} finally {
			await capped.stop();
		}
	});
});
