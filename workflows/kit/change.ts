/**
 * One row change as the bridge hands it to an actor: the payload of every
 * actor's change signal, shared by the bridge (src/bridge/) and the
 * workflows. An entity's pending changes arrive in one signal, oldest first,
 * in commit order (migrations/00005_commit_order.sql).
 */
export interface Change {
	/** The outbox row's id: per entity, increasing in commit order. */
	outboxId: number;
	table: string;
	operation: "INSERT" | "UPDATE" | "DELETE";
	rowId: string;
}
