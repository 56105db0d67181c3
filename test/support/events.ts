/** Event helpers shared by the events test files. */
import { expect } from "bun:test";
import type { TestApp } from "./app.ts";

export const at = (hoursFromNow: number): string =>
	new Date(Date.now() + hoursFromNow * 3_600_000).toISOString();

/** POST /api/v1/events as `token`; a meetup tomorrow for 2 h with 10 places unless overridden. */
export async function createEventAs(
	app: TestApp,
	token: string,
	overrides: Record<string, unknown> = {},
): Promise<{ id: string; [key: string]: unknown }> {
	const res = await app.request("POST", "/api/v1/events", {
		token,
		body: { title: "Meetup", startsAt: at(24), endsAt: at(26), capacity: 10, ...overrides },
	});
	expect(res.status).toBe(201);
	return res.body;
}

export const joinEvent = (app: TestApp, eventId: string, token: string) =>
	app.request("POST", `/api/v1/events/${eventId}/participants`, { token });
