/** Child-process helpers shared by the embedded servers. */
import type { Subprocess } from "bun";

/** Polls `probe` until it resolves; rethrows its last error after `timeoutMs`. */
export async function waitFor<T>(
	probe: () => Promise<T>,
	options: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<T> {
	const deadline = Date.now() + options.timeoutMs;
	let last: unknown;
	while (Date.now() < deadline) {
		try {
			return await probe();
		} catch (error) {
			last = error;
			if (String(error).includes("exited with")) break;
		}
		await Bun.sleep(options.intervalMs ?? 100);
	}
	throw new Error(
		`${options.what} did not become ready: ${last instanceof Error ? last.message : String(last)}`,
	);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stopChild(child: Subprocess, graceMs = 10_000): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return;
	child.kill("SIGTERM");
	const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
	try {
		await child.exited;
	} finally {
		clearTimeout(timer);
	}
}

/** A free TCP port on loopback. */
export function freePort(): number {
	const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
	const port = server.port;
	server.stop(true);
	return port;
}
