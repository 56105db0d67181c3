/** Retry policies per channel kind from configuration. */
import { describe, expect, test } from "bun:test";
import { ConfigInvalid, loadConfig } from "../src/config.ts";
import { deliveryPolicies } from "../src/deliveries/policy.ts";

describe("delivery retry policies", () => {
	test("every kind starts from DELIVERY_RETRY_*", () => {
		const p = deliveryPolicies(
			loadConfig({ DELIVERY_RETRY_INITIAL_MS: "250", DELIVERY_RETRY_MAX_ATTEMPTS: "7" }).delivery,
		);
		for (const kind of ["webhook", "email", "telegram"] as const)
			expect(p[kind]).toMatchObject({ initialIntervalMs: 250, maximumAttempts: 7, backoffCoefficient: 2 });
	});

	test("a per-kind override changes only that kind", () => {
		const p = deliveryPolicies(
			loadConfig({ DELIVERY_RETRY_TELEGRAM: "initial=3000, backoff=1.5, attempts=4" }).delivery,
		);
		expect(p.telegram).toMatchObject({
			initialIntervalMs: 3000,
			backoffCoefficient: 1.5,
			maximumAttempts: 4,
		});
		expect(p.webhook).toMatchObject({ initialIntervalMs: 1000, backoffCoefficient: 2, maximumAttempts: 20 });
		expect(p.telegram.maximumIntervalMs).toBeGreaterThanOrEqual(3000);
	});

	test.each(["initial=abc", "speed=3", "attempts=-1", "initial"])(
		"a malformed override %p stops loading the configuration, naming the variable",
		(spec) => {
			// Parsed with the rest of the configuration: start-up fails, not the first delivery.
			expect(() => loadConfig({ DELIVERY_RETRY_EMAIL: spec })).toThrow(ConfigInvalid);
			expect(() => loadConfig({ DELIVERY_RETRY_EMAIL: spec })).toThrow(/DELIVERY_RETRY_EMAIL/);
		},
	);
});
