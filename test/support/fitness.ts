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

export interface PayoutProvider {
	url: string;
	/** Every request, in arrival order. */
	calls: Array<{ key: string | null; body: any }>;
	/** Payouts applied, by idempotency key: each should be 1. */
	applied: Map<string, number>;
	stop(): void;
}

/**
 * A payout provider on loopback that behaves like a real one: it applies a
 * payout on receipt, once per idempotency key (a repeat gets the same payout
 * id back). `respond` may delay or fail a call after it was applied, e.g. hold
 * it open while a worker is killed.
 */
export function startPayoutProvider(
	respond: (index: number) => Promise<Response | undefined> | Response | undefined = () => undefined,
): PayoutProvider {
	const calls: PayoutProvider["calls"] = [];
	const applied = new Map<string, number>();
	const ids = new Map<string, string>();
	const hanging: Array<() => void> = [];
	const server = Bun.serve({
		hostname: "127.0.0.1",
		port: 0,
		idleTimeout: 0,
		async fetch(req) {
			const key = req.headers.get("idempotency-key");
			const body = await req.json();
			calls.push({ key, body });
			if (!key) return Response.json({ error: "idempotency key required" }, { status: 400 });
			if (!ids.has(key)) {
				ids.set(key, `po_${crypto.randomUUID()}`);
				applied.set(key, (applied.get(key) ?? 0) + 1);
			}
			const custom = await respond(calls.length - 1);
			return custom ?? Response.json({ id: ids.get(key), status: "paid" });
		},
	});
	return {
		url: `http://127.0.0.1:${server.port}/payouts`,
		calls,
		applied,
		stop() {
			for (const release of hanging) release();
			server.stop(true);
		},
	};
}
