/**
 * Conformance: the real `replicache` client (npm, in-memory store) syncs
 * against Herald through a thin adapter that only renames the protocol's
 * fields (Replicache's `clientGroupID`/`lastMutationIDChanges`; its cookies
 * must be ordered, so Herald's cookie travels as `{order: version, c}`; its
 * puller fetches every page before answering). Its mutations reach the
 * server once and are confirmed (no pending mutation left), REST changes
 * and deletes reach its store, and a second Replicache converges.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Replicache, type WriteTransaction } from "replicache";
import type { TestApp } from "./support/app.ts";
import { createContact, withSignedInUser } from "./support/debts.ts";
import type { Registered } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

let app: TestApp;
let user: Registered;
withSignedInUser((a, u) => {
	[app, user] = [a, u];
});

type Contact = { id: string; name: string; note?: string };
const mutators = {
	async createContact(tx: WriteTransaction, args: Contact) {
		await tx.set(`contact/${args.id}`, { ...args });
	},
	async updateContact(tx: WriteTransaction, args: Contact) {
		const row = (await tx.get<Contact>(`contact/${args.id}`)) ?? {};
		await tx.set(`contact/${args.id}`, { ...row, ...args });
	},
};

const ok = { httpStatusCode: 200, errorMessage: "" };
const post = (path: string, body: unknown) => app.request("POST", path, { token: user.accessToken, body });

function client(name: string) {
	return new Replicache({
		name,
		kvStore: "mem",
		mutators,
		pullInterval: null,
		pushDelay: 0,
		logLevel: "error",
		async pusher(req) {
			if (req.pushVersion !== 1) throw new Error("push v0 is not supported");
			const byClient = new Map<string, { id: number; name: string; args: unknown }[]>();
			for (const m of req.mutations)
				byClient.set(m.clientID, [
					...(byClient.get(m.clientID) ?? []),
					{ id: m.id, name: m.name, args: m.args },
				]);
			for (const [clientId, mutations] of byClient) {
				const res = await post("/api/sync/push", {
					clientGroupId: req.clientGroupID,
					clientId,
					schemaVersion: "1",
					mutations,
				});
				if (res.status !== 200)
					return { httpRequestInfo: { httpStatusCode: res.status, errorMessage: "push" } };
			}
			return { httpRequestInfo: ok };
		},
		async puller(req) {
			if (req.pullVersion !== 1) throw new Error("pull v0 is not supported");
			const sent = req.cookie as { c: string } | null;
			let cookie: string | null = sent?.c ?? null;
			const patch: unknown[] = [];
			for (;;) {
				const res = await post("/api/sync/pull", { clientGroupId: req.clientGroupID, cookie });
				if (res.status !== 200)
					return { httpRequestInfo: { httpStatusCode: res.status, errorMessage: "pull" } };
				patch.push(...res.body.patch);
				cookie = res.body.cookie;
				if (!res.body.hasMore)
					return {
						response: {
							cookie: { order: Number(cookie), c: cookie },
							lastMutationIDChanges: res.body.lastMutationIds,
							patch: patch as never,
						},
						httpRequestInfo: ok,
					};
			}
		},
	});
}

const clients: Replicache<typeof mutators>[] = [];
afterAll(async () => {
	for (const c of clients) await c.close();
});

describe("replicache", () => {
	test("the real client pushes, pulls, confirms its mutations and converges with a second one", async () => {
		const phone = client(`phone-${crypto.randomUUID()}`);
		const laptop = client(`laptop-${crypto.randomUUID()}`);
		clients.push(phone, laptop);
		const id = Bun.randomUUIDv7();
		await phone.mutate.createContact({ id, name: "From Replicache" });
		await phone.mutate.updateContact({ id, name: "From Replicache", note: "edited offline" });
		await phone.push({ now: true });
		await eventually(
			async () =>
				(await app.db.sql`select note from contacts where id = ${id}`)[0]?.note === "edited offline",
			{
				what: "the mutations on the server",
			},
		);
		expect((await app.db.sql`select id from contacts where id = ${id}`).length).toBe(1);
		// A REST change and a REST delete reach the store; the pending mutations are confirmed.
		const rest = await createContact(app, user.accessToken, { name: "From REST" });
		await phone.pull({ now: true });
		await eventually(async () => (await phone.experimentalPendingMutations()).length === 0, {
			what: "confirmed",
		});
		await eventually(async () => (await phone.query((tx) => tx.has(`contact/${rest.id}`))) === true, {
			what: "the REST row in the store",
		});
		expect(await phone.query((tx) => tx.get(`contact/${id}`))).toMatchObject({
			name: "From Replicache",
			note: "edited offline",
		});
		await app.request("DELETE", `/api/v1/contacts/${rest.id}`, { token: user.accessToken });
		await phone.pull({ now: true });
		await eventually(async () => (await phone.query((tx) => tx.has(`contact/${rest.id}`))) === false, {
			what: "the delete in the store",
		});
		// A second client starts from nothing and ends with the same rows.
		await laptop.pull({ now: true });
		const keys = (r: Replicache<typeof mutators>) =>
			r.query(async (tx) => (await tx.scan().keys().toArray()).sort());
		await eventually(async () => JSON.stringify(await keys(laptop)) === JSON.stringify(await keys(phone)), {
			what: "the second client's store",
		});
		expect((await keys(laptop)).length).toBeGreaterThan(0);
	}, 60_000);
});
