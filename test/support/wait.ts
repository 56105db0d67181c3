/** Awaits a condition instead of sleeping a fixed time. */
export async function eventually<T>(
	probe: () => T | Promise<T>,
	options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
	const deadline = Date.now() + (options.timeoutMs ?? 10_000);
	let last: unknown;
	for (;;) {
		try {
			const value = await probe();
			if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>;
		} catch (error) {
			last = error;
		}
		if (Date.now() > deadline)
			throw new Error(
				`timed out waiting for ${options.what ?? "condition"}${last ? `: ${String(last)}` : ""}`,
			);
		await Bun.sleep(options.intervalMs ?? 20);
	}
}
