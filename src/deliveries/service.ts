/** The signed-in user's delivery history. */
import type { Sql } from "../infra/db/sql.ts";
import { countUserDeliveries, listUserDeliveries } from "./history.ts";
import type { DeliveryQuery, DeliveryView } from "./model.ts";

export function createDeliveryService(deps: { sql: Sql }) {
	const { sql } = deps;
	return {
		async list(userId: string, query: DeliveryQuery): Promise<{ items: DeliveryView[]; total: number }> {
			const filter = { userId, status: query.status };
			const [items, total] = await Promise.all([
				listUserDeliveries(sql, filter, { limit: query.limit ?? 20, offset: query.offset ?? 0 }),
				countUserDeliveries(sql, filter),
			]);
			return { items, total };
		},
	};
}

export type DeliveryService = ReturnType<typeof createDeliveryService>;
