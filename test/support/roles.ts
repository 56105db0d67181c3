/** Herald's entry point as a child process, as an operator runs it (`bun src/main.ts <role>`). */
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { testEnv } from "./env.ts";

const ROOT = resolve(import.meta.dir, "../..");
/** METRICS_PORT 0: roles run side by side here; a test that scrapes sets a port of its own. */
const BASE_ENV = {
	PATH: process.env.PATH ?? "",
	HOME: process.env.HOME ?? "/root",
	LOG_LEVEL: "info",
	METRICS_PORT: "0",
};

export interface RoleProcess {
	child: Subprocess<"ignore", "pipe", "pipe">;
	output(): string;
	/** Resolves when both output streams ended (after exit). */
	drained: Promise<unknown>;
}

const children: Subprocess[] = [];

export function herald(
	args: string[],
	env: Record<string, string>,
	options: { detached?: boolean } = {},
): RoleProcess {
	const child = Bun.spawn([process.execPath, "--max-http-header-size=262144", "src/main.ts", ...args], {
		cwd: ROOT,
		env: { ...BASE_ENV, ...env },
		stdin: "ignore",
		stdout: "pipe",
		stderr: "pipe",
		detached: options.detached,
	});
	children.push(child);
	const out: string[] = [];
	const collect = async (stream: ReadableStream<Uint8Array>) => {
		const decoder = new TextDecoder();
		for await (const chunk of stream) out.push(decoder.decode(chunk, { stream: true }));
	};
	const drained = Promise.all([collect(child.stdout), collect(child.stderr)]);
	return { child, output: () => out.join(""), drained };
}

/** The environment a production role needs, pointed at the test run's services. */
export async function serviceEnv(databaseUrl: string): Promise<Record<string, string>> {
	const env = await testEnv();
	return {
		DATABASE_URL: databaseUrl,
		TEMPORAL_ADDRESS: env.temporalAddress,
		UPSTASH_REDIS_REST_URL: env.redisRestUrl,
		UPSTASH_REDIS_REST_TOKEN: env.redisRestToken,
	};
}

/** SIGKILLs every child still running (call from afterAll). */
export function killChildren(): void {
	for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
}
