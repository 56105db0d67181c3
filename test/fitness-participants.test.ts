/**
 * Organisers remove participants: off the board at once, an audit row, no
 * rejoining; only the organiser, only before the end; another organiser's
 * draft or a non-participant is 404. Real API, Postgres and Redis.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { board, join, openCompetition, sync, walk } from "./support/fitness.ts";
import { type Registered, register } from "./support/tokens.ts";

let t: TestApp;
let organiser: Registered;

beforeAll(async () => {
	t = await startTestApp({ LEADERBOARD_CACHE_MS: "0" });
	organiser = await register(t);
});
afterAll(async () => {
	await t.stop();
});

const remove = (token: string, id: string, userId: string) =>
	t.request("DELETE", `/api/v1/competitions/${id}/participants/${userId}`, { token });

describe("removing a participant", () => {
	test("the organiser removes one: off the board, audited, cannot rejoin; the others stay", async () => {
		const c = await openCompetition(t, organiser.accessToken, { maxParticipants: 3 });
		const [cheat, honest] = await Promise.all([register(t), register(t)]);
		await join(t, cheat.accessToken, c.id);
		await join(t, honest.accessToken, c.id);
		await sync(t, cheat.accessToken, [walk("watch", "w", 5000)]);
		await sync(t, honest.accessToken, [walk("watch", "w", 1000)]);
		expect((await board(t, honest.accessToken, c.id)).total).toBe(2);

		const res = await remove(organiser.accessToken, c.id, cheat.userId);
		expect(res.status).toBe(204);
		const after = await board(t, honest.accessToken, c.id);
		expect(after.total).toBe(1);
		expect(after.entries).toEqual([expect.objectContaining({ userId: honest.userId, rank: 1, score: 1000 })]);
		expect((await board(t, cheat.accessToken, c.id)).me).toBeNull();
		const view = await t.request("GET", `/api/v1/competitions/${c.id}`, { token: cheat.accessToken });
		expect(view.body).toMatchObject({ joined: false, participants: 1 });

		const rejoin = await t.request("POST", `/api/v1/competitions/${c.id}/join`, { token: cheat.accessToken });
		expect(rejoin.status).toBe(403);
		expect(rejoin.body.error.code).toBe("forbidden");
		const audit = await t.request("GET", `/api/v1/competitions/${c.id}/audit`, {
			token: organiser.accessToken,
		});
		const removed = audit.body.items.filter((i: any) => i.action === "participant_removed");
		expect(removed).toEqual([
			expect.objectContaining({ actorId: organiser.userId, details: { userId: cheat.userId } }),
		]);
		// Removing again: no longer a participant.
		expect((await remove(organiser.accessToken, c.id, cheat.userId)).status).toBe(404);
		// A freed place is taken by someone else: the capacity counts participants.
		const late = await register(t);
		await join(t, late.accessToken, c.id);
	});

	test("only the organiser, only while open or running; strangers and unknown ids are 404; bad ids 422", async () => {
		const c = await openCompetition(t, organiser.accessToken);
		const [a, b] = await Promise.all([register(t), register(t)]);
		await join(t, a.accessToken, c.id);
		await join(t, b.accessToken, c.id);
		const forbidden = await remove(a.accessToken, c.id, b.userId);
		expect(forbidden.status).toBe(403);
		expect((await board(t, a.accessToken, c.id)).total).toBe(2);
		expect((await remove(organiser.accessToken, c.id, crypto.randomUUID())).status).toBe(404);
		expect((await remove(organiser.accessToken, crypto.randomUUID(), a.userId)).status).toBe(404);
		expect((await remove(organiser.accessToken, c.id, "not-a-uuid")).status).toBe(422);
		expect((await t.request("DELETE", `/api/v1/competitions/${c.id}/participants/${a.userId}`)).status).toBe(
			401,
		);

		const draft = await t.request("POST", "/api/v1/competitions", {
			token: organiser.accessToken,
			body: {
				name: "Draft",
				metric: "steps",
				timeZone: "UTC",
				startsAt: new Date(Date.now() + 3_600_000).toISOString(),
				endsAt: new Date(Date.now() + 86_400_000).toISOString(),
			},
		});
		expect((await remove(a.accessToken, draft.body.id, b.userId)).status).toBe(404);
		expect((await remove(organiser.accessToken, draft.body.id, b.userId)).status).toBe(409);

		await t.db.sql`update competitions set status = 'finished' where id = ${c.id}`;
		const late = await remove(organiser.accessToken, c.id, a.userId);
		expect(late.status).toBe(409);
		const [row] = await t.db
			.sql`select count(*)::int as n from competition_participants where competition_id = ${c.id}`;
		expect(row!.n).toBe(2);
	});
});
