/** Shared by the sender tests. */
import { expect } from "bun:test";
import { DeliveryFailed } from "../../src/outbound/types.ts";

/** Awaits a send that must fail, and returns its DeliveryFailed. */
export async function failure(promise: Promise<unknown>): Promise<DeliveryFailed> {
	try {
		await promise;
	} catch (error) {
		expect(error).toBeInstanceOf(DeliveryFailed);
		return error as DeliveryFailed;
	}
	throw new Error("expected the delivery to fail");
}
