/**
 * Per-field conflict resolution of a sync update (pure). A device sends the
 * fields it changed (`args`) and what it last saw of them (`base`). Fields
 * only the device changed apply. A money field the server also changed since
 * (its value differs from `base`) keeps the server's value and is reported;
 * every other field is last-write-wins in arrival order. Device clocks take
 * no part: nothing here reads a timestamp.
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
	const conflicts: FieldConflict[] = [];
	for (const [field, yours] of Object.entries(args)) {
		if (field === "id") continue;
		const serverChanged = base !== undefined && field in base && !same(base[field], server[field]);
		if (moneyFields.includes(field) && serverChanged && !same(yours, server[field]))
			conflicts.push({ field, server: server[field], yours, base: base![field] });
		else change[field] = yours;
	}
	return { change, conflicts };
}
