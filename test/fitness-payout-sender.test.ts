/**
 * The payout sender on the webhook sender's pinned fetch (a local provider
 * on loopback, DNS given by the test): the name is resolved by the shared
 * check and the request pinned to the checked address with the name in
 * `Host`; a DNS lookup that never answers ends at PAYOUT_TIMEOUT_MS (it is
 * under the deadline, not before it); a private address not allowed is
 * refused for good; a name that does not resolve is retryable.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { createPayoutSender } from "../activities/fitness/payout.ts";
import { DeliveryFailed } from "../src/outbound/types.ts";

let server: Server<unknown>;
const seen: Array<{ host: string | null; key: string | null; body: unknown }> = [];

beforeAll(() => {
	server = Bun.serve({
		hostname: "127.0.0.1",
		port: 0,
		async fetch(req) {
			seen.push({
				host: req.headers.get("host"),
				key: req.headers.get("idempotency-key"),
				body: await req.json(),
			});
			return Response.json({ id: "po_pinned" });
		},
	});
});
afterAll(() => {
	server.stop(true);
});

const request = {
	allocationId: "a-1",
	userId: "u-1",
	amountMinor: 500,
	currency: "EUR",
	reference: "competition:c:calculation:p",
};

async function failure(p: Promise<unknown>): Promise<DeliveryFailed> {
	const error = await p.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(DeliveryFailed);
	return error as DeliveryFailed;
}

describe("payout sender", () => {
	test("resolved by the shared check, pinned to the checked address, the name in Host", async () => {
		const lookups: string[] = [];
		const sender = createPayoutSender({
			url: `http://payout.herald.test:${server.port}/pay`,
			allowPrivate: ["127.0.0.1"],
			timeoutMs: 5000,
			resolve: async (host) => {
				lookups.push(host);
				return ["127.0.0.1"];
			},
		});
		expect(sender.destination).toBe(`payout:payout.herald.test:${server.port}`);
		expect(await sender.pay(request)).toEqual({ reference: "po_pinned" });
		expect(lookups).toEqual(["payout.herald.test"]);
		expect(seen.at(-1)).toEqual({
			host: `payout.herald.test:${server.port}`,
			key: "payout:a-1",
			body: request,
		});
	});

	test("a DNS lookup that never answers ends at the timeout, retryable", async () => {
		const sender = createPayoutSender({
			url: "http://payout.herald.test/pay",
			allowPrivate: [],
			timeoutMs: 300,
			resolve: () => new Promise<string[]>(() => {}),
		});
		const error = await failure(sender.pay(request));
		expect({ retryable: error.retryable, reason: error.options.reason }).toEqual({
			retryable: true,
			reason: "timeout",
		});
	});

	test("a private address not allowed: refused for good; a name that does not resolve: retryable", async () => {
		const refused = await failure(
			createPayoutSender({
				url: `http://payout.herald.test:${server.port}/pay`,
				allowPrivate: [],
				timeoutMs: 2000,
				resolve: async () => ["127.0.0.1"],
			}).pay(request),
		);
		expect({ retryable: refused.retryable, reason: refused.options.reason }).toEqual({
			retryable: false,
			reason: "destination_refused",
		});
		const unresolvable = await failure(
			createPayoutSender({
				url: "http://payout.herald.test/pay",
				allowPrivate: [],
				timeoutMs: 2000,
				resolve: async () => [],
			}).pay(request),
		);
		expect({ retryable: unresolvable.retryable, reason: unresolvable.options.reason }).toEqual({
			retryable: true,
			reason: "destination_unresolvable",
		});
	});
});
