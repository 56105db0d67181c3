/** PostgreSQL error codes Herald maps to domain errors, at the place that runs the query. */

/** `23505`: a unique constraint (or unique index) refused the row; `constraint` names it when given. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
	const e = error as { code?: string; constraint_name?: string };
	return e?.code === "23505" && (constraint === undefined || e.constraint_name === constraint);
}

/** Runs `work`; a unique violation becomes `conflict()` (anything else is rethrown as is). */
export async function onUniqueViolation<T>(work: () => Promise<T>, conflict: () => Error): Promise<T> {
	try {
		return await work();
	} catch (error) {
		if (isUniqueViolation(error)) throw conflict();
		throw error;
	}
}
