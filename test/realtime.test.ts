/**
 * Live WebSocket delivery through a real server socket: the caller's new
 * notifications and one event's changes, refusal before the upgrade, the
 * listener re-subscribing after its connection drops, and clean shutdown.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createNotification } from "../src/notifications/repository.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";
import { connectWs } from "./support/ws.ts";

let app: TestApp;
let base: string;
beforeAll(async () => {
	app = await startTestApp();
	const served = app.app.listen({ hostname: "127.0.0.1", port: 0 });
	base = `127.0.0.1:${served.server!.port}`;
});
afterAll(async () => {
	await app.services.realtime.stop();
	await app.app.stop();
	await app.stop();
});

const connect = (path: string, init?: { headers?: Record<string, string> }) => connectWs(base, path, init);

/** A refused upgrade: the HTTP status and body, and proof that a WebSocket client never opens. */
async function refused(path: string): Promise<{ status: number; body: any }> {
	const res = await fetch(`http://${base}${path}`, {
		headers: {
			connection: "Upgrade",
			upgrade: "websocket",
			"sec-websocket-key": btoa(crypto.randomUUID().slice(0, 16)),
			"sec-websocket-version": "13",
		},
	});
	const ws = new WebSocket(`ws://${base}${path}`);
	let opened = false;
	ws.onopen = () => {
		opened = true;
	};
	const close = await new Promise<CloseEvent>((resolve) => {
		ws.onclose = resolve;
	});
	expect(opened).toBe(false);
	expect(close.code).toBe(1006);
	return { status: res.status, body: await res.json() };
}

async function signUp(): Promise<{ id: string; token: string }> {
	const r = await register(app);
	return { id: r.userId, token: r.accessToken };
}

const notify = (userId: string, title = "hello", dedupeKey: string = crypto.randomUUID()) =>
	createNotification(app.db.sql, { userId, kind: "test", title, dedupeKey, data: { title } });

describe("/ws/notifications", () => {
	test("delivers the caller's new notifications in the REST shape, and only theirs", async () => {
		const a = await signUp();
		const b = await signUp();
		await notify(a.id, "committed before ready: never pushed");
		const socket = await connect(`/ws/notifications?access_token=${a.token}`);
		await notify(b.id, "for B");
		const { row } = await notify(a.id, "for A");
		const message = await socket.next();
		const rest = await app.request("GET", "/api/v1/notifications", { token: a.token });
		expect(message).toEqual({ type: "notification", notification: rest.body.items[0] });
		expect(message.notification).toMatchObject({ id: row.id, title: "for A", data: { title: "for A" } });
		socket.close();
	});

	test("the Authorization header works too; a repeated dedupe key is not pushed again", async () => {
		const a = await signUp();
		const socket = await connect("/ws/notifications", { headers: { authorization: `Bearer ${a.token}` } });
		const first = await notify(a.id, "once", "key-1");
		expect((await socket.next()).notification.id).toBe(first.row.id);
		expect((await notify(a.id, "twice", "key-1")).created).toBe(false);
		await notify(a.id, "next", "key-2");
		expect((await socket.next()).notification.title).toBe("next");
		socket.close();
	});

	test("every socket of the user gets it", async () => {
		const a = await signUp();
		const [one, two] = await Promise.all(
			[1, 2].map(() => connect(`/ws/notifications?access_token=${a.token}`)),
		);
		await notify(a.id, "both");
		expect((await one!.next()).notification.title).toBe("both");
		expect((await two!.next()).notification.title).toBe("both");
		one!.close();
		two!.close();
	});

	test("no token, a bad token or a forged token is refused before the upgrade with 401", async () => {
		const missing = await refused("/ws/notifications");
		expect(missing).toMatchObject({ status: 401, body: { error: { code: "token_missing" } } });
		const garbage = await refused("/ws/notifications?access_token=not-a-token");
		expect(garbage.status).toBe(401);
		expect(garbage.body.error.code).toBe("token_invalid");
		const a = await signUp();
		const [h, p] = a.token.split(".");
		const forged = await refused(`/ws/notifications?access_token=${h}.${p}.${"A".repeat(43)}`);
		expect(forged).toMatchObject({ status: 401, body: { error: { code: "token_invalid" } } });
	});

	test("after the LISTEN connection drops, it re-subscribes and sockets are told to resync", async () => {
		const a = await signUp();
		const socket = await connect(`/ws/notifications?access_token=${a.token}`);
		const hub = app.services.realtime;
		const before = hub.epoch();
		const killed = await app.db.sql`
			select pg_terminate_backend(pid) from pg_stat_activity
			where datname = current_database() and pid <> pg_backend_pid() and query ilike 'listen %'`;
		expect(killed.length).toBeGreaterThan(0);
		await eventually(() => hub.epoch() > before, { what: "re-LISTEN" });
		expect(await socket.next()).toEqual({ type: "resync" });
		await notify(a.id, "after reconnect");
		expect((await socket.next()).notification.title).toBe("after reconnect");
		socket.close();
	});
});

// ---- events: rows inserted with SQL (the events REST API is another feature) ----

async function createEvent(ownerId: string, description = ""): Promise<string> {
	const [row] = await app.db.sql<{ id: string }[]>`
		insert into events (owner_id, title, description, starts_at, ends_at, capacity)
		values (${ownerId}, 'Party', ${description}, now() + interval '1 day', now() + interval '1 day 2 hours', 10)
		returning id`;
	return row!.id;
}

async function join(eventId: string, userId: string): Promise<string> {
	const [row] = await app.db.sql<{ id: string }[]>`
		insert into participants (event_id, user_id) values (${eventId}, ${userId}) returning id`;
	return row!.id;
}

const retitle = (eventId: string, title: string) =>
	app.db.sql`update events set title = ${title} where id = ${eventId}`;

describe("/ws/events/:id", () => {
	test("owner and participant get the event's changes, not another event's; a stranger is refused", async () => {
		const [owner, guest, stranger] = await Promise.all([signUp(), signUp(), signUp()]);
		const eventId = await createEvent(owner.id);
		const otherId = await createEvent(owner.id);
		await join(eventId, guest.id);
		const watchOwner = await connect(`/ws/events/${eventId}?access_token=${owner.token}`);
		const watchGuest = await connect(`/ws/events/${eventId}`, {
			headers: { authorization: `Bearer ${guest.token}` },
		});

		const refusedStranger = await refused(`/ws/events/${eventId}?access_token=${stranger.token}`);
		expect(refusedStranger).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
		expect((await refused(`/ws/events/${crypto.randomUUID()}?access_token=${owner.token}`)).status).toBe(404);
		expect((await refused(`/ws/events/${eventId}`)).status).toBe(401);
		expect((await refused(`/ws/events/not-a-uuid?access_token=${owner.token}`)).status).toBe(422);

		await retitle(otherId, "Other party");
		await retitle(eventId, "Big party");
		for (const socket of [watchOwner, watchGuest]) {
			const message = await socket.next();
			expect(message).toMatchObject({ type: "event_change", operation: "UPDATE", id: eventId });
			expect(message.data).toMatchObject({ id: eventId, title: "Big party", owner_id: owner.id });
			expect(typeof message.timestamp).toBe("string");
			expect(message.dataTruncated).toBeUndefined();
		}

		const late = await signUp();
		const lateId = await join(eventId, late.id);
		for (const socket of [watchOwner, watchGuest])
			expect(await socket.next()).toMatchObject({
				type: "participant_change",
				operation: "INSERT",
				id: lateId,
				data: { event_id: eventId, user_id: late.id, status: "registered" },
			});
		watchOwner.close();
		watchGuest.close();
	});

	test("truncated payloads: event by id, participant looked up by its id", async () => {
		const owner = await signUp();
		const eventId = await createEvent(owner.id);
		const socket = await connect(`/ws/events/${eventId}?access_token=${owner.token}`);
		await app.db.sql`update events set description = ${"x".repeat(9000)} where id = ${eventId}`;
		const big = await socket.next();
		expect(big).toMatchObject({
			type: "event_change",
			operation: "UPDATE",
			id: eventId,
			dataTruncated: true,
		});
		expect(big.data).toBeUndefined();

		// Participant rows are too small to be truncated, so the trigger's truncated form is sent by hand.
		const participantId = await join(eventId, (await signUp()).id);
		expect((await socket.next()).id).toBe(participantId);
		const payload = {
			operation: "UPDATE",
			id: participantId,
			timestamp: new Date().toISOString(),
			data_truncated: true,
		};
		await app.db.sql`select pg_notify('participant_changes', ${JSON.stringify(payload)})`;
		expect(await socket.next()).toEqual({
			type: "participant_change",
			operation: "UPDATE",
			id: participantId,
			dataTruncated: true,
			timestamp: payload.timestamp,
		});
		socket.close();
	});

	test("a removed participant's socket closes with 4403; deleting the event closes the rest", async () => {
		const [owner, guest] = await Promise.all([signUp(), signUp()]);
		const eventId = await createEvent(owner.id);
		const participantId = await join(eventId, guest.id);
		const watchOwner = await connect(`/ws/events/${eventId}?access_token=${owner.token}`);
		const watchGuest = await connect(`/ws/events/${eventId}?access_token=${guest.token}`);

		await app.db.sql`delete from participants where id = ${participantId}`;
		expect(await watchGuest.next()).toMatchObject({ type: "participant_change", operation: "DELETE" });
		expect(await watchGuest.closed).toEqual({ code: 4403, reason: "access revoked" });
		expect((await watchOwner.next()).operation).toBe("DELETE");
		expect((await refused(`/ws/events/${eventId}?access_token=${guest.token}`)).status).toBe(404);

		await app.db.sql`delete from events where id = ${eventId}`;
		expect(await watchOwner.next()).toMatchObject({ type: "event_change", operation: "DELETE", id: eventId });
		expect(await watchOwner.closed).toEqual({ code: 1000, reason: "event deleted" });
	});
});

describe("shutdown", () => {
	test("stopping the realtime hub closes every socket with 1001", async () => {
		const a = await signUp();
		const socket = await connect(`/ws/notifications?access_token=${a.token}`);
		await app.services.realtime.stop();
		expect(await socket.closed).toEqual({ code: 1001, reason: "server shutting down" });
		await app.services.realtime.stop();
	});
});
