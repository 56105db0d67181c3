/**
 * Conflict resolution of a sync update (pure). A device sends the fields it
 * changed (`args`) and what it last saw of them (`base`). Fields only the
 * device changed apply. The money fields are one group (a kind, currency,
 * amount and contact only mean something together): if the server changed
 * any of them since `base` and the device's money values are not all the
 * server's, the server keeps all its money values and every money field of
 * the device's that differs is reported; every other field is last-write-wins
 * in arrival order. Device clocks take no part: nothing here reads a
 * timestamp.
 */
export interface FieldConflict {
	field: string;
	server: unknown;
	yours: unknown;
	base: unknown;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export function mergeUpdate(
	args: Record<string, unknown>,
	base: Record<string, unknown> | undefined,
	server: Record<string, unknown>,
	moneyFields: readonly string[],
): { change: Record<string, unknown>; conflicts: FieldConflict[] } {
	const change: Record<string, unknown> = {};
	const fields = Object.entries(args).filter(([field]) => field !== "id");
	const money = fields.filter(([field]) => moneyFields.includes(field));
	const serverMoved = moneyFields.some(
		(field) => base !== undefined && field in base && !same(base[field], server[field]),
	);
	const differing = money.filter(([field, yours]) => !same(yours, server[field]));
	const conflicts: FieldConflict[] =
		serverMoved && differing.length > 0
			? differing.map(([field, yours]) => ({ field, server: server[field], yours, base: base?.[field] }))
			: [];
	for (const [field, yours] of fields)
		if (conflicts.length === 0 || !moneyFields.includes(field)) change[field] = yours;
	return { change, conflicts };
}
