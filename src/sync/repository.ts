/** SQL for sync: client groups, clients' last mutation ids, versions and the changed-row index. */
import { type ContactRow, toContactView } from "../debts/contacts-repository.ts";
import {
	type TransactionRow,
	toTransactionView,
	columns as transactionColumns,
} from "../debts/transactions-repository.ts";
import type { Sql as Pool, Queryable as Sql } from "../infra/db/sql.ts";
import { type ReminderRow, columns as reminderColumns, toReminderView } from "../reminders/repository.ts";
import type { Key } from "./cookie.ts";
import type { PatchOp } from "./model.ts";

export type Entity = "contact" | "transaction" | "reminder";

/**
 * Claims the group for `userId` if it is new; returns the group's owner. A
 * group another request inserted concurrently is not in this statement's
 * snapshot (the insert waited for it, then did nothing): it is read again by
 * a new statement, which sees it committed (or, had that insert rolled back,
 * claims it again).
 */
export async function claimGroup(sql: Sql, id: string, userId: string): Promise<string> {
	for (;;) {
		const [row] = await sql<{ user_id: string }[]>`
			with claimed as (
				insert into sync_client_groups (id, user_id) values (${id}, ${userId})
				on conflict (id) do nothing returning user_id
			)
			select user_id from claimed union all select user_id from sync_client_groups where id = ${id} limit 1`;
		if (row) return row.user_id;
		const [again] = await sql<{ user_id: string }[]>`select user_id from sync_client_groups where id = ${id}`;
		if (again) return again.user_id;
	}
}

/** The client's last mutation id, its row locked until the transaction ends (one push per client at a time). */
export async function lockClient(sql: Sql, groupId: string, clientId: string): Promise<number> {
	// The no-op update locks the row like `select … for update` (one round trip for a new or known client).
	const [row] = await sql<{ n: string }[]>`
		insert into sync_clients (client_group_id, id) values (${groupId}, ${clientId})
		on conflict (client_group_id, id) do update set updated_at = sync_clients.updated_at
		returning last_mutation_id::text as n`;
	return Number(row!.n);
}

export async function lastMutationId(sql: Sql, groupId: string, clientId: string): Promise<number> {
	const [row] = await sql<{ n: string }[]>`
		select last_mutation_id::text as n from sync_clients where client_group_id = ${groupId} and id = ${clientId}`;
	return Number(row?.n ?? 0);
}

/**
 * Records the client's new last mutation id with this transaction's version,
 * taken here (herald_sync_version: the user's writers serialize from this
 * statement on, after every lock the mutation took).
 */
export async function setLastMutationId(
	sql: Sql,
	groupId: string,
	clientId: string,
	id: number,
	userId: string,
): Promise<number> {
	const [row] = await sql<{ v: string }[]>`
		update sync_clients set last_mutation_id = ${id}, version = herald_sync_version(${userId}), updated_at = now()
		where client_group_id = ${groupId} and id = ${clientId}
		returning version::text as v`;
	return Number(row!.v);
}

export async function groupMutationIds(sql: Sql, groupId: string): Promise<Record<string, number>> {
	const rows = await sql<{ id: string; n: string }[]>`
		select id, last_mutation_id::text as n from sync_clients where client_group_id = ${groupId} order by id`;
	return Object.fromEntries(rows.map((r) => [r.id, Number(r.n)]));
}

/** Runs the deferred sync triggers now (they stamp the rows changed so far with the transaction's version). */
export async function stampNow(sql: Sql): Promise<void> {
	await sql`set constraints contacts_sync, transactions_sync, reminders_sync, reminders_sync_update immediate`;
}

export async function versionState(
	sql: Sql,
	userId: string,
): Promise<{ version: number; purgedThrough: number }> {
	const [row] = await sql<{ v: string; p: string }[]>`
		select version::text as v, purged_through::text as p from sync_versions where user_id = ${userId}`;
	return { version: Number(row?.v ?? 0), purgedThrough: Number(row?.p ?? 0) };
}

/** The user's version and the group's last mutation ids from one snapshot (one statement). */
export async function versionAndMutationIds(
	sql: Sql,
	userId: string,
	groupId: string,
): Promise<{ version: number; purgedThrough: number; lastMutationIds: Record<string, number> }> {
	const [row] = await sql<{ v: string | null; p: string | null; ids: Record<string, string | number> }[]>`
		select (select version::text from sync_versions where user_id = ${userId}) as v,
		       (select purged_through::text from sync_versions where user_id = ${userId}) as p,
		       (select coalesce(json_object_agg(id, last_mutation_id), '{}') from sync_clients
		        where client_group_id = ${groupId}) as ids`;
	return {
		version: Number(row?.v ?? 0),
		purgedThrough: Number(row?.p ?? 0),
		lastMutationIds: Object.fromEntries(Object.entries(row?.ids ?? {}).map(([k, n]) => [k, Number(n)])),
	};
}

export interface ChangedRow {
	entity: Entity;
	id: string;
	version: number;
	deleted: boolean;
}

/** One page of the user's changes in (from, bound], after `after`, in (version, entity, id) order. */
export async function changedRows(
	sql: Sql,
	userId: string,
	q: { from: number; bound: number; after: Key | null; liveOnly: boolean; limit: number },
): Promise<ChangedRow[]> {
	const rows = await sql<{ entity: Entity; id: string; version: string; deleted: boolean }[]>`
		select r.entity, r.id, r.version::text as version, r.deleted from sync_rows r
		where r.owner_id = ${userId} and r.version > ${q.from} and r.version <= ${q.bound}
		${q.liveOnly ? sql`and not r.deleted` : sql``}
		${q.after ? sql`and (r.version, r.entity, r.id) > (${q.after[0]}, ${q.after[1]}, ${q.after[2]}::uuid)` : sql``}
		-- r.version, not the output column of that name (text: "10" < "8")
		order by r.version, r.entity, r.id limit ${q.limit}`;
	return rows.map((r) => ({ ...r, version: Number(r.version) }));
}

/** The rows changed at exactly `version` (what one push transaction wrote). */
export async function rowsAtVersion(sql: Sql, userId: string, version: number): Promise<ChangedRow[]> {
	const rows = await sql<{ entity: Entity; id: string; deleted: boolean }[]>`
		select entity, id, deleted from sync_rows where owner_id = ${userId} and version = ${version}
		order by entity, id`;
	return rows.map((r) => ({ ...r, version }));
}

/** What a device holds of a row: the REST view without what changes without the row (allocations, firings). */
const syncedTransaction = (r: TransactionRow) => {
	const { allocatedMinor: _a, ...view } = toTransactionView(r);
	return view;
};
const syncedReminder = (r: ReminderRow) => {
	const { nextFireAt: _n, lastFiredAt: _l, ...view } = toReminderView(r);
	return view;
};

/** The patch for `changed` (in its order): `put` with the row as it stands, `del` for a gone one. */
export async function patchFor(sql: Sql, userId: string, changed: ChangedRow[]): Promise<PatchOp[]> {
	const ids = (entity: Entity) => changed.filter((c) => c.entity === entity && !c.deleted).map((c) => c.id);
	const [contacts, transactions, reminders] = await Promise.all([
		ids("contact").length === 0
			? []
			: sql<ContactRow[]>`select * from contacts where owner_id = ${userId} and id in ${sql(ids("contact"))}`,
		ids("transaction").length === 0
			? []
			: sql<TransactionRow[]>`
				select ${transactionColumns(sql)} from transactions t
				where t.owner_id = ${userId} and t.id in ${sql(ids("transaction"))}`,
		ids("reminder").length === 0
			? []
			: sql<ReminderRow[]>`
				select ${reminderColumns(sql)} from reminders where owner_id = ${userId} and id in ${sql(ids("reminder"))}`,
	]);
	const values = new Map<string, Record<string, unknown>>();
	for (const c of contacts) values.set(`contact/${c.id}`, toContactView(c));
	for (const t of transactions) values.set(`transaction/${t.id}`, syncedTransaction(t));
	for (const r of reminders) values.set(`reminder/${r.id}`, syncedReminder(r));
	return changed.map((c): PatchOp => {
		const key = `${c.entity}/${c.id}`;
		const value = values.get(key);
		return value && !c.deleted ? { op: "put", key, value } : { op: "del", key };
	});
}

/**
 * Purges tombstones older than the retention, user by user, in transactions
 * of at most `batch` tombstones (lowest versions first), each raising the
 * user's `purged_through` to the highest version it purged. Each locks the
 * user's version row first (a writer locks its version row before its
 * tombstones), so a batch holds up only that user's writers, briefly.
 */
export async function purgeTombstones(pool: Pool, retentionDays: number, batch = 1000): Promise<number> {
	const users = await pool<{ owner_id: string }[]>`
		select distinct owner_id from sync_rows
		where deleted and changed_at < now() - make_interval(days => ${retentionDays})
		order by owner_id`;
	let purged = 0;
	for (const { owner_id: userId } of users)
		for (;;) {
			const n = (await pool.begin(async (tx) => {
				await tx`select 1 from sync_versions where user_id = ${userId} for update`;
				const [row] = await tx<{ n: number }[]>`
					with purged as (
						delete from sync_rows where (entity, id) in (
							select entity, id from sync_rows
							where owner_id = ${userId} and deleted
							  and changed_at < now() - make_interval(days => ${retentionDays})
							order by version limit ${batch}
						)
						returning version
					), raised as (
						update sync_versions v set purged_through = greatest(v.purged_through, p.top)
						from (select max(version) as top from purged) p
						where v.user_id = ${userId} and p.top is not null
					)
					select count(*)::int as n from purged`;
				return row!.n;
			})) as number;
			purged += n;
			if (n < batch) break;
		}
	return purged;
}
