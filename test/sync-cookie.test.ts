/** Sync cookies (pure): baseline and page cookies round-trip; anything else reads as unknown. */
import { describe, expect, test } from "bun:test";
import { baselineCookie, pageCookie, parseCookie } from "../src/sync/cookie.ts";

describe("sync cookies", () => {
	test("a baseline is the version; a page cookie carries its pull's state", () => {
		expect(parseCookie(baselineCookie(42))).toEqual({ kind: "baseline", version: 42 });
		expect(parseCookie(null)).toEqual({ kind: "none" });
		const state = {
			from: 3,
			bound: 9,
			after: [7, "contact", "0190b8a0-0000-7000-8000-000000000001"] as const,
			snapshot: false,
			lastMutationIds: { phone: 4 },
		};
		expect(parseCookie(pageCookie(state))).toEqual({ kind: "page", state });
	});

	test("forged, truncated or out-of-range cookies are unknown (the pull answers clear and a snapshot)", () => {
		const bad = (v: unknown) => `p.${Buffer.from(JSON.stringify(v)).toString("base64url")}`;
		for (const cookie of [
			"",
			"-1",
			"1.5",
			"99999999999999999",
			"p.",
			"p.!!!",
			bad([5, 3, null, 0, {}]), // from above bound
			bad([0, 3, [1, "users", "0190b8a0-0000-7000-8000-000000000001"], 0, {}]),
			bad([0, 3, [1, "contact", "x"], 0, {}]),
			bad([0, 3, null, 2, {}]),
			bad([0, 3, null, 0, { a: -1 }]),
			bad([0, 3, null, 0]),
		])
			expect([cookie, parseCookie(cookie).kind]).toEqual([cookie, "unknown"]);
	});
});
