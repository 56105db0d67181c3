/**
 * A simulated sync device for tests and benches: the state it holds (what
 * the server confirmed), its cookie, its client ids and its queue of pending
 * mutations. `pull()` fetches every page and applies them only once
 * `hasMore` is false (as a client must); `push()` sends the queue with the
 * device's cookie and applies the server's patch.
 */
import { patchFor } from "../../src/sync/repository.ts";
import type { TestApp } from "./app.ts";
import { eventually } from "./wait.ts";

type Op =
	| { op: "clear" }
	| { op: "put"; key: string; value: Record<string, any> }
	| { op: "del"; key: string };

export interface PendingMutation {
	id: number;
	name: string;
	args: Record<string, unknown>;
	base?: Record<string, unknown>;
}

export const newId = (): string => Bun.randomUUIDv7();

export class Device {
	readonly state = new Map<string, Record<string, any>>();
	cookie: string | null = null;
	pending: PendingMutation[] = [];
	nextId = 1;
	lastPush: any;
	pulls = 0;

	constructor(
		readonly app: TestApp,
		readonly token: string,
		readonly clientGroupId: string = crypto.randomUUID(),
		readonly clientId: string = crypto.randomUUID(),
	) {}

	/** Queues a mutation; `base` defaults to what the device holds of the changed fields. */
	mutate(name: string, args: Record<string, unknown>, base?: Record<string, unknown>): PendingMutation {
		const m: PendingMutation = { id: this.nextId++, name, args, ...(base ? { base } : {}) };
		this.pending.push(m);
		return m;
	}

	/** `base` for an update of `key`: the device's values of the fields in `args`. */
	baseOf(key: string, args: Record<string, unknown>): Record<string, unknown> {
		const row = this.state.get(key) ?? {};
		return Object.fromEntries(
			Object.keys(args)
				.filter((k) => k !== "id")
				.map((k) => [k, row[k]]),
		);
	}

	apply(patch: Op[]): void {
		for (const op of patch) {
			if (op.op === "clear") this.state.clear();
			else if (op.op === "put") this.state.set(op.key, op.value);
			else this.state.delete(op.key);
		}
	}

	async rawPush(mutations = this.pending, extra: Record<string, unknown> = {}) {
		return this.app.request("POST", "/api/sync/push", {
			token: this.token,
			body: {
				clientGroupId: this.clientGroupId,
				clientId: this.clientId,
				schemaVersion: "1",
				cookie: this.cookie,
				mutations,
				...extra,
			},
		});
	}

	async push(): Promise<any> {
		const res = await this.rawPush();
		if (res.status !== 200) throw new Error(`push: ${res.status} ${JSON.stringify(res.body)}`);
		this.apply(res.body.patch);
		if (res.body.cookie !== null) this.cookie = res.body.cookie;
		const last = res.body.lastMutationIds[this.clientId] ?? 0;
		this.pending = this.pending.filter((m) => m.id > last);
		this.lastPush = res.body;
		return res.body;
	}

	async rawPull(cookie: string | null, limit?: number) {
		return this.app.request("POST", "/api/sync/pull", {
			token: this.token,
			body: { clientGroupId: this.clientGroupId, cookie, ...(limit ? { limit } : {}) },
		});
	}

	/** Every page, applied at the end; returns the pages' patches. */
	async pull(limit?: number): Promise<{ pages: any[]; ops: Op[] }> {
		let cookie = this.cookie;
		const pages: any[] = [];
		for (;;) {
			const res = await this.rawPull(cookie, limit);
			if (res.status !== 200) throw new Error(`pull: ${res.status} ${JSON.stringify(res.body)}`);
			pages.push(res.body);
			cookie = res.body.cookie;
			if (!res.body.hasMore) break;
		}
		const ops = pages.flatMap((p) => p.patch as Op[]);
		this.apply(ops);
		this.cookie = cookie;
		const last = pages.at(-1).lastMutationIds[this.clientId] ?? 0;
		this.pending = this.pending.filter((m) => m.id > last);
		this.pulls++;
		return { pages, ops };
	}
}

/** A map of rows as a plain object sorted by key (Map equality in expect() depends on insertion order). */
export const sorted = (rows: Map<string, Record<string, any>>) =>
	Object.fromEntries([...rows].sort(([a], [b]) => a.localeCompare(b)));

/** The user's live synced rows as the server holds them, keyed like the patch. */
export async function serverState(app: TestApp, userId: string): Promise<Map<string, Record<string, any>>> {
	const rows = await app.db.sql<{ entity: string; id: string }[]>`
		select 'contact' as entity, id from contacts where owner_id = ${userId} and deleted_at is null
		union all select 'transaction', id from transactions where owner_id = ${userId} and deleted_at is null
		union all select 'reminder', id from reminders where owner_id = ${userId} and deleted_at is null`;
	const patch = await patchFor(
		app.db.sql,
		userId,
		rows.map((r) => ({ entity: r.entity as never, id: r.id, version: 0, deleted: false })),
	);
	return new Map(patch.map((p) => [(p as { key: string }).key, (p as { value: Record<string, any> }).value]));
}

/** Runs `work` in a transaction held open until `release()`; resolves once `work` is done. */
export async function holdTransaction(app: TestApp, work: (tx: any) => Promise<unknown>) {
	let release!: () => void;
	const held = new Promise<void>((r) => {
		release = r;
	});
	let done!: () => void;
	const isDone = new Promise<void>((r) => {
		done = r;
	});
	const holder = app.db.sql.begin(async (tx) => {
		await work(tx);
		done();
		await held;
	});
	await isDone;
	return {
		async release() {
			release();
			await holder;
		},
	};
}

/** Resolves once a backend of this database waits for a lock in a query matching `like`. */
export const waitingForLock = (app: TestApp, like: string) =>
	eventually(
		async () =>
			(
				await app.db.sql`
					select 1 from pg_stat_activity
					where datname = current_database() and wait_event_type = 'Lock' and query ilike ${like}`
			).length > 0,
		{ what: `a query like ${like} waiting for a lock` },
	);
