/**
 * The whole path as a user sees it: REST creates the event and the
 * registration, the bridge signals the actor, the actor's durable timer fires,
 * and the reminder arrives in the inbox and over /ws/notifications at its
 * planned time. Moving the event moves it; cancelling removes it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { BridgeHandle } from "../src/bridge/bridge.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";
import { connectWs } from "./support/ws.ts";

let t: TestApp;
let actors: Actors;
let bridge: BridgeHandle;
let base: string;

beforeAll(async () => {
	t = await startTestApp();
	actors = await startActors(t.db.sql, "e2e");
	bridge = await actors.bridge(t.db.sql, 5000);
	base = `127.0.0.1:${t.app.listen({ hostname: "127.0.0.1", port: 0 }).server!.port}`;
});

afterAll(async () => {
	await t.services.realtime.stop();
	await t.app.stop();
	await bridge.stop();
	await actors.stop();
	await t.stop();
});

const signUp = async (_name: string): Promise<string> => (await register(t)).accessToken;

async function createEvent(token: string, startsAt: Date, reminderOffsets: number[]) {
	const res = await t.request("POST", "/api/v1/events", {
		token,
		body: {
			title: "Team run",
			startsAt: startsAt.toISOString(),
			endsAt: new Date(startsAt.getTime() + 3600_000).toISOString(),
			capacity: 5,
			reminderOffsets,
		},
	});
	expect(res.status).toBe(201);
	return res.body.id as string;
}

const schedule = async (token: string, id: string) =>
	(await t.request("GET", `/api/v1/events/${id}/schedule`, { token })).body;

describe("event reminders end to end", () => {
	test("a 3-second reminder reaches the inbox and the WebSocket at its planned time", async () => {
		const owner = await signUp("owner");
		const guest = await signUp("guest");
		const startsAt = new Date(Date.now() + 8_000);
		const id = await createEvent(owner, startsAt, [3]);
		expect((await t.request("POST", `/api/v1/events/${id}/participants`, { token: guest })).status).toBe(201);
		const socket = await connectWs(base, `/ws/notifications?access_token=${guest}`);
		const planned = startsAt.getTime() - 3_000;
		const view = await eventually(async () => {
			const s = await schedule(owner, id);
			return s.reminders?.length === 1 ? s : undefined;
		});
		expect(view.reminders[0].fireAt).toBe(new Date(planned).toISOString());
		const message = await socket.next(15_000);
		const arrived = Date.now();
		socket.close();
		expect(message.type).toBe("notification");
		expect(message.notification).toMatchObject({
			kind: "event_reminder",
			data: { eventId: id, offsetSeconds: 3 },
		});
		// Never early; how late is a bench figure (bench/reminders.ts), not a timed assertion.
		expect(arrived).toBeGreaterThanOrEqual(planned - 50);
		const inbox = await t.request("GET", "/api/v1/notifications?unread=true", { token: guest });
		expect(inbox.body.items.map((n: { id: string }) => n.id)).toContain(message.notification.id);
		// The notification is written before the actor updates its plan: await the plan.
		await eventually(async () => (await schedule(owner, id)).reminders?.length === 0, {
			what: "the fired reminder leaves the schedule",
		});
	}, 30_000);

	test("moving the event moves the reminder; cancelling removes it", async () => {
		const owner = await signUp("owner");
		const guest = await signUp("guest");
		const startsAt = new Date(Date.now() + 3 * 3600_000);
		const id = await createEvent(owner, startsAt, [3600]);
		await t.request("POST", `/api/v1/events/${id}/participants`, { token: guest });
		await eventually(async () => (await schedule(guest, id)).reminders?.length === 1);
		const later = new Date(startsAt.getTime() + 86_400_000);
		const moved = await t.request("PATCH", `/api/v1/events/${id}`, {
			token: owner,
			body: { startsAt: later.toISOString(), endsAt: new Date(later.getTime() + 3600_000).toISOString() },
		});
		expect(moved.status).toBe(200);
		await eventually(
			async () =>
				(await schedule(owner, id)).reminders?.[0]?.fireAt ===
				new Date(later.getTime() - 3600_000).toISOString(),
			{ what: "the reminder to follow the event" },
		);
		expect(
			(await t.request("PATCH", `/api/v1/events/${id}`, { token: owner, body: { status: "cancelled" } }))
				.status,
		).toBe(200);
		await actors.temporal.client.workflow.getHandle(`event:${id}`).result();
		expect(await schedule(owner, id)).toMatchObject({ status: "cancelled", reminders: [] });
		const strangers = await signUp("stranger");
		expect((await t.request("GET", `/api/v1/events/${id}/schedule`, { token: strangers })).status).toBe(404);
	}, 30_000);
});
