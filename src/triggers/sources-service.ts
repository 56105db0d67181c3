/** Sources: create (the key shown once), list, read, revoke, delete; a source's events. */
import { NotFound } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import { listEvents, toEventView } from "./events-repository.ts";
import { newIngestionKey } from "./keys.ts";
import {
	deleteSource,
	findSource,
	insertSource,
	listSources,
	revokeSource,
	toSourceView,
} from "./sources-repository.ts";

export function createSourceService({ sql }: { sql: Sql }) {
	const found = <T>(row: T | undefined): T => {
		if (!row) throw new NotFound("source");
		return row;
	};
	return {
		async create(owner: string, name: string) {
			const { key, hash, prefix } = newIngestionKey();
			const row = await insertSource(sql, owner, name.trim(), hash, prefix);
			return { ...toSourceView(row), key };
		},
		async list(owner: string, q: { limit?: number; offset?: number }) {
			const { rows, total } = await listSources(sql, owner, q.limit ?? 20, q.offset ?? 0);
			return { items: rows.map(toSourceView), total };
		},
		get: async (owner: string, id: string) => toSourceView(found(await findSource(sql, owner, id))),
		revoke: async (owner: string, id: string) => toSourceView(found(await revokeSource(sql, owner, id))),
		async remove(owner: string, id: string) {
			if (!(await deleteSource(sql, owner, id))) throw new NotFound("source");
		},
		async events(owner: string, id: string, q: { type?: string; afterSeq?: number; limit?: number }) {
			found(await findSource(sql, owner, id));
			const rows = await listEvents(sql, owner, { sourceId: id, ...q, limit: q.limit ?? 50 });
			return { items: rows.map(toEventView) };
		},
	};
}

export type SourceService = ReturnType<typeof createSourceService>;
