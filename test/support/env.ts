/**
 * The test run's backing services, booted once by the preload: the same
 * `resolveInfra` as `dev` (embedded PostgreSQL, Temporal dev server, Redis
 * gateway) unless DATABASE_URL / TEMPORAL_ADDRESS / UPSTASH_* / REDIS_URL are
 * set, on random ports, with a migrated template database that each test
 * file clones.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Infra, resolveInfra } from "../../src/app/infra.ts";
import { migrate } from "../../src/app/migrate.ts";
import { loadConfig } from "../../src/config.ts";
import { createSql } from "../../src/infra/db/sql.ts";
import { createLogger } from "../../src/infra/log.ts";

export interface TestEnv extends Infra {
	readonly templateDatabase: string;
}

const KEY = Symbol.for("herald.test-env");
type Holder = { [KEY]?: Promise<TestEnv> };

export function testEnv(): Promise<TestEnv> {
	const holder = globalThis as Holder;
	holder[KEY] ??= boot();
	return holder[KEY];
}

async function boot(): Promise<TestEnv> {
	const config = loadConfig(process.env, {
		HERALD_ENV: "test",
		HERALD_DATA_DIR: process.env.HERALD_DATA_DIR ?? ".herald/test",
		LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
	});
	const log = createLogger(config.logLevel, { component: "test-env" });
	removeStaleDataDirs(resolve(config.dataDir));
	const infra = await resolveInfra(config, { embedded: true, ephemeral: true, log });
	const templateDatabase = `herald_tpl_${process.pid}`;
	const admin = createSql(infra.databaseUrl, { max: 1 });
	try {
		await dropStale(admin);
		await admin.unsafe(`create database "${templateDatabase}"`);
		const tpl = createSql(withDatabase(infra.databaseUrl, templateDatabase), { max: 2 });
		try {
			await migrate(tpl);
		} finally {
			await tpl.end();
		}
	} finally {
		await admin.end();
	}
	return {
		...infra,
		templateDatabase,
		async stop() {
			const sql = createSql(infra.databaseUrl, { max: 1 });
			await sql
				.unsafe(`drop database if exists "${templateDatabase}" with (force)`)
				.catch(() => {})
				.finally(() => sql.end());
			await infra.stop();
		},
	};
}

export function withDatabase(url: string, database: string): string {
	const u = new URL(url);
	u.pathname = `/${database}`;
	return u.toString();
}

/** Databases left behind by test runs whose process is gone. */
async function dropStale(admin: ReturnType<typeof createSql>): Promise<void> {
	const rows = await admin<{ datname: string }[]>`
		select datname from pg_database where datname ~ '^herald_(tpl|t)_[0-9]+'`;
	for (const { datname } of rows) {
		const pid = Number(datname.split("_")[2]);
		if (pid === process.pid || isAlive(pid)) continue;
		await admin.unsafe(`drop database if exists "${datname}" with (force)`);
	}
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

/** Per-run data folders (`postgres-<pid>`, `redis-<pid>`) of runs that were killed. */
function removeStaleDataDirs(dir: string): void {
	if (!existsSync(dir)) return;
	for (const name of readdirSync(dir)) {
		const pid = Number(name.match(/^(?:postgres|redis)-(\d+)$/)?.[1]);
		if (!pid || pid === process.pid || isAlive(pid)) continue;
		const postmaster = join(dir, name, "postmaster.pid");
		const serverPid = existsSync(postmaster) ? Number(readFileSync(postmaster, "utf8").split("\n")[0]) : 0;
		if (serverPid && isAlive(serverPid)) continue;
		rmSync(join(dir, name), { recursive: true, force: true });
	}
}
