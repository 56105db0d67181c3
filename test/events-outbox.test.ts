/**
 * What every change to events and participants leaves behind: outbox rows
 * (table, operation, entity_key = the event id) written by the triggers in
 * the same transaction, and the seed's NOTIFY payloads on `event_changes` /
 * `participant_changes` ({operation, id, data, timestamp}; no `data` but
 * `data_truncated` when the row is too large for NOTIFY).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { createEventAs } from "./support/events.ts";
import { register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

setDefaultTimeout(30_000);

let app: TestApp;
beforeAll(async () => {
	app = await startTestApp();
});
afterAll(async () => {
	await app.stop();
});

const createEvent = (token: string, overrides: Record<string, unknown> = {}) =>
	createEventAs(app, token, overrides);

const outboxFor = async (entityKey: string) => [
	...(await app.db.sql<{ table_name: string; operation: string; row_id: string }[]>`
		select table_name, operation, row_id from outbox where entity_key = ${entityKey} order by id`),
];

describe("outbox rows and NOTIFY payloads", () => {
	const messages: { channel: string; payload: any }[] = [];
	const unlisten: (() => Promise<void>)[] = [];
	beforeAll(async () => {
		for (const channel of ["event_changes", "participant_changes"]) {
			const meta = await app.db.sql.listen(channel, (payload) => {
				messages.push({ channel, payload: JSON.parse(payload) });
			});
			unlisten.push(meta.unlisten);
		}
	});
	afterAll(async () => {
		for (const stop of unlisten) await stop();
	});
	const notified = (channel: string, operation: string, id: string) =>
		eventually(
			() =>
				messages.find(
					(m) => m.channel === channel && m.payload.operation === operation && m.payload.id === id,
				),
			{ what: `${operation} ${id} on ${channel}` },
		);

	test("create, change, register, cancel and delete each leave outbox rows and a notification", async () => {
		const a = await register(app);
		const b = await register(app);
		const event = await createEvent(a.accessToken, { title: "Observed" });
		const created = await notified("event_changes", "INSERT", event.id);
		expect(Object.keys(created.payload).sort()).toEqual(["data", "id", "operation", "timestamp"]);
		expect(created.payload.data).toMatchObject({ id: event.id, title: "Observed", owner_id: a.userId });
		expect(Number.isNaN(Date.parse(created.payload.timestamp))).toBe(false);

		const path = `/api/v1/events/${event.id}`;
		await app.request("PATCH", path, { token: a.accessToken, body: { title: "Observed 2" } });
		expect((await notified("event_changes", "UPDATE", event.id)).payload.data.title).toBe("Observed 2");

		const joined = await app.request("POST", `${path}/participants`, { token: b.accessToken });
		const pid = joined.body.id as string;
		expect((await notified("participant_changes", "INSERT", pid)).payload.data).toMatchObject({
			event_id: event.id,
			user_id: b.userId,
			status: "registered",
		});
		await app.request("DELETE", `${path}/participants/${pid}`, { token: b.accessToken });
		expect((await notified("participant_changes", "UPDATE", pid)).payload.data.status).toBe("cancelled");

		expect((await app.request("DELETE", path, { token: a.accessToken })).status).toBe(204);
		await notified("event_changes", "DELETE", event.id);
		await notified("participant_changes", "DELETE", pid);

		expect(await outboxFor(event.id)).toEqual([
			{ table_name: "events", operation: "INSERT", row_id: event.id },
			{ table_name: "events", operation: "UPDATE", row_id: event.id },
			{ table_name: "participants", operation: "INSERT", row_id: pid },
			{ table_name: "participants", operation: "UPDATE", row_id: pid },
			// The event's AFTER DELETE trigger runs before the cascade's.
			{ table_name: "events", operation: "DELETE", row_id: event.id },
			{ table_name: "participants", operation: "DELETE", row_id: pid },
		]);
	});

	test("a row over NOTIFY's limit is announced without data, with data_truncated", async () => {
		const a = await register(app);
		const event = await createEvent(a.accessToken, { description: "d".repeat(9_000) });
		const message = await notified("event_changes", "INSERT", event.id);
		expect(message.payload.data).toBeUndefined();
		expect(message.payload.data_truncated).toBe(true);
		expect(message.payload).toMatchObject({ operation: "INSERT", id: event.id });
		expect(await outboxFor(event.id)).toEqual([
			{ table_name: "events", operation: "INSERT", row_id: event.id },
		]);
	});
});
