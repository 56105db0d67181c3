/** Competitions and activity records for the fitness tests, through the API. */
import { expect } from "bun:test";
import type { TestApp } from "./app.ts";

export const HOUR = 3_600_000;

/** An open competition (published) that started an hour ago and ends in a day, unless told otherwise. */
export async function openCompetition(
	t: TestApp,
	token: string,
	body: Record<string, unknown> = {},
): Promise<{ id: string; [k: string]: unknown }> {
	const created = await t.request("POST", "/api/v1/competitions", {
		token,
		body: {
			name: "Step challenge",
			metric: "steps",
			timeZone: "Europe/Berlin",
			startsAt: new Date(Date.now() - 5 * HOUR).toISOString(),
			endsAt: new Date(Date.now() + 24 * HOUR).toISOString(),
			...body,
		},
	});
	expect(created.status).toBe(201);
	const published = await t.request("PATCH", `/api/v1/competitions/${created.body.id}`, {
		token,
		body: { status: "open" },
	});
	expect(published.status).toBe(200);
	return published.body;
}

export async function join(t: TestApp, token: string, id: string): Promise<void> {
	const res = await t.request("POST", `/api/v1/competitions/${id}/join`, { token });
	expect(res.status).toBe(200);
}

/** A walk of `minutes` minutes ending `endsAgoMin` minutes ago. */
export function walk(
	source: string,
	externalId: string,
	steps: number,
	options: { minutes?: number; endsAgoMin?: number; version?: number; deleted?: boolean; kind?: string } = {},
) {
	const end = Date.now() - (options.endsAgoMin ?? 10) * 60_000;
	const start = end - (options.minutes ?? 30) * 60_000;
	return {
		source,
		externalId,
		kind: options.kind ?? "walk",
		startedAt: new Date(start).toISOString(),
		endedAt: new Date(end).toISOString(),
		steps,
		...(options.version === undefined ? {} : { version: options.version }),
		...(options.deleted ? { deleted: true } : {}),
	};
}

export async function sync(t: TestApp, token: string, items: unknown[]) {
	return t.request("POST", "/api/v1/fitness/sync", { token, body: { items } });
}

export async function board(t: TestApp, token: string, id: string, query = "") {
	const res = await t.request("GET", `/api/v1/leaderboard/${id}${query}`, { token });
	expect(res.status).toBe(200);
	return res.body;
}
