/**
 * Migrations, then the outbox routes: every feature's actor bindings are
 * written to `outbox_routes` in one transaction, so the table (which the
 * bridges read) always shows what this release routes.
 */
import type { Feature, Operation } from "../feature.ts";
import { features as allFeatures } from "../features.ts";
import { migrate as applyMigrations } from "../infra/db/migrate.ts";
import type { Sql } from "../infra/db/sql.ts";

const ALL: readonly Operation[] = ["INSERT", "UPDATE", "DELETE"];

export interface RouteRow {
	table_name: string;
	operation: Operation;
	workflow_type: string;
	workflow_id_prefix: string;
	signal_name: string;
}

/** The routes the features declare: one row per (table, operation, actor). */
export function declaredRoutes(features: readonly Feature[] = allFeatures): RouteRow[] {
	return features.flatMap((f) =>
		(f.actors ?? []).flatMap((binding) =>
			binding.tables.flatMap((table) =>
				(binding.operations ?? ALL).map((operation) => ({
					table_name: table,
					operation,
					workflow_type: binding.actor.workflowType,
					workflow_id_prefix: binding.actor.idPrefix,
					signal_name: binding.actor.signal.name,
				})),
			),
		),
	);
}

export async function syncOutboxRoutes(sql: Sql, features: readonly Feature[] = allFeatures): Promise<void> {
	const rows = declaredRoutes(features);
	await sql.begin(async (tx) => {
		await tx`delete from outbox_routes`;
		if (rows.length > 0) await tx`insert into outbox_routes ${tx(rows)}`;
	});
}

export async function migrate(
	sql: Sql,
	options: { onApplied?: (name: string) => void; features?: readonly Feature[] } = {},
): Promise<void> {
	await applyMigrations(sql, options);
	await syncOutboxRoutes(sql, options.features);
}
