/**
 * The entry point as an operator runs it: roles configured only by
 * environment variables, one-line config errors, graceful shutdown, and
 * `dev` on embedded defaults keeping its data across restarts with no
 * orphan processes after Ctrl-C.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSql } from "../src/infra/db/sql.ts";
import { freePort } from "../src/infra/process.ts";
import { freshDatabase } from "./support/db.ts";
import { testEnv, withDatabase } from "./support/env.ts";
import { herald, killChildren } from "./support/roles.ts";
import { eventually } from "./support/wait.ts";

async function healthy(port: number) {
	return eventually(
		async () => {
			const res = await fetch(`http://127.0.0.1:${port}/api/v1/health`);
			return res.status === 200 ? ((await res.json()) as Record<string, any>) : undefined;
		},
		{ timeoutMs: 60_000, intervalMs: 100, what: `healthy api on ${port}` },
	);
}

afterAll(killChildren);

describe("roles configured by environment", () => {
	test("a production role without DATABASE_URL stops with one line naming it", async () => {
		const { child, output, drained } = herald(["api"], {});
		expect(await child.exited).toBe(1);
		await drained;
		const errorLines = output()
			.split("\n")
			.filter((l) => l && !l.startsWith("{"));
		expect(errorLines).toEqual(["config: DATABASE_URL is required for this role"]);
	});

	test("an api without a signing key refuses to start in production", async () => {
		const env = await testEnv();
		const { child, output, drained } = herald(["api"], {
			DATABASE_URL: env.databaseUrl,
			TEMPORAL_ADDRESS: env.temporalAddress,
			UPSTASH_REDIS_REST_URL: env.redisRestUrl,
			UPSTASH_REDIS_REST_TOKEN: env.redisRestToken,
			PORT: String(freePort()),
		});
		expect(await child.exited).toBe(1);
		await drained;
		expect(output()).toContain("config: AUTH_JWT_SECRET (or AUTH_JWT_PRIVATE_KEY) is required for this role");
	});

	test("a malformed variable stops start-up with one line naming it", async () => {
		const { child, output, drained } = herald(["api"], { PORT: "not-a-port" });
		expect(await child.exited).toBe(1);
		await drained;
		expect(output().trim()).toBe("config: PORT: Expected a string representing a finite number");
	});

	test("an unknown role is refused", async () => {
		const { child, output, drained } = herald(["frobnicate"], {});
		expect(await child.exited).toBe(1);
		await drained;
		expect(output()).toContain('unknown role "frobnicate"');
	});

	test("migrate applies migrations to an empty database and exits 0", async () => {
		const env = await testEnv();
		const name = `herald_t_${process.pid}_roles_migrate`;
		const admin = createSql(env.databaseUrl, { max: 1 });
		await admin.unsafe(`create database "${name}"`);
		try {
			const { child } = herald(["migrate"], { DATABASE_URL: withDatabase(env.databaseUrl, name) });
			expect(await child.exited).toBe(0);
			const db = createSql(withDatabase(env.databaseUrl, name), { max: 1 });
			const [row] = await db`select count(*)::int as n from migrations`;
			await db.end();
			expect(row!.n).toBeGreaterThan(0);
		} finally {
			await admin.unsafe(`drop database if exists "${name}" with (force)`);
			await admin.end();
		}
	});

	test("all roles on configured services: healthy, then SIGTERM stops gracefully with exit 0", async () => {
		const env = await testEnv();
		const db = await freshDatabase();
		const port = freePort();
		const { child, output, drained } = herald(["all"], {
			DATABASE_URL: db.url,
			TEMPORAL_ADDRESS: env.temporalAddress,
			TEMPORAL_TASK_QUEUE: `test-process-${process.pid}`,
			UPSTASH_REDIS_REST_URL: env.redisRestUrl,
			UPSTASH_REDIS_REST_TOKEN: env.redisRestToken,
			AUTH_JWT_SECRET: "process-test-secret-0123456789-0123456789",
			PORT: String(port),
			HOST: "127.0.0.1",
		});
		try {
			const report = await healthy(port);
			expect(report).toMatchObject({
				status: "ok",
				database: { status: "up" },
				temporal: { status: "up" },
				redis: { status: "up" },
			});
			// Past Bun's default 16 KiB limit, Herald itself answers, with its error body.
			const long = await fetch(`http://127.0.0.1:${port}/api/v1/events?q=${"a".repeat(20_000)}`);
			expect(long.status).toBe(414);
			expect(long.headers.get("x-request-id")).toBeTruthy();
			expect(((await long.json()) as { error: { code: string } }).error.code).toBe("uri_too_long");
			child.kill("SIGTERM");
			expect(await child.exited).toBe(0);
			await drained;
			const log = output();
			expect(log).toContain('"msg":"shutting down"');
			expect(log).toContain('"msg":"stopped"');
			expect(log).not.toContain(env.redisRestToken);
			expect(log).not.toContain(new URL(db.url).password || "\u0000");
			expect(await fetch(`http://127.0.0.1:${port}/health`).catch(() => "refused")).toBe("refused");
		} finally {
			await db.drop();
		}
	}, 90_000);
});

describe("dev on embedded defaults", () => {
	const dataDir = mkdtempSync(join(tmpdir(), "herald-dev-"));
	chmodSync(dataDir, 0o755); // embedded Postgres runs as the postgres user when we are root
	const ports = {
		PORT: String(freePort()),
		EMBEDDED_POSTGRES_PORT: String(freePort()),
		TEMPORAL_DEV_PORT: String(freePort()),
		TEMPORAL_UI_PORT: String(freePort()),
		REDIS_GATEWAY_PORT: String(freePort()),
		EMBEDDED_REDIS_PORT: String(freePort()),
		SMTP_PORT: String(freePort()),
		MAIL_UI_PORT: String(freePort()),
	};
	const env = { ...ports, HERALD_DATA_DIR: dataDir, HOST: "127.0.0.1" };
	// redis-server rewrites its process title to "redis-server <host>:<port>", so match it by port.
	const leftovers = () =>
		[dataDir, `redis-server 127.0.0.1:${ports.EMBEDDED_REDIS_PORT}`].flatMap((pattern) =>
			Bun.spawnSync(["pgrep", "-f", pattern]).stdout.toString().split("\n").filter(Boolean).map(Number),
		);

	afterAll(() => {
		for (const pid of leftovers()) process.kill(pid, "SIGKILL");
		rmSync(dataDir, { recursive: true, force: true });
	});

	test("starts everything, keeps data across a restart, and Ctrl-C leaves no process behind", async () => {
		const pgUrl = `postgres://postgres:postgres@127.0.0.1:${ports.EMBEDDED_POSTGRES_PORT}/postgres`;
		for (const round of [1, 2]) {
			// detached: the child leads its own process group, as a shell job does.
			const { child, output, drained } = herald(["dev"], env, { detached: true });
			const report = await healthy(Number(ports.PORT)).catch((error) => {
				throw new Error(`${error}\n${output()}`);
			});
			expect(report.status).toBe("ok");
			const ui = await fetch(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/`);
			expect(ui.status).toBe(200);
			// No SMTP_HOST: dev runs its mail catcher, with a web inbox.
			const inbox = await fetch(`http://127.0.0.1:${ports.MAIL_UI_PORT}/messages`);
			expect(inbox.status).toBe(200);
			expect(await inbox.json()).toBeArray();
			const sql = createSql(pgUrl, { max: 1 });
			if (round === 1) await sql`insert into cleanup_runs (removed) values ('{"marker": 42}')`;
			else {
				const rows = await sql`select removed from cleanup_runs where removed ? 'marker'`;
				expect(rows).toHaveLength(1);
			}
			await sql.end();
			expect(leftovers().length).toBeGreaterThan(0);
			process.kill(-child.pid, "SIGINT"); // what a terminal's Ctrl-C does: the whole group
			const code = await child.exited;
			await drained;
			if (code !== 0) throw new Error(`dev exited with ${code}:\n${output().slice(-3000)}`);
			expect(output()).toContain('"msg":"stopped"');
			if (round === 2) expect(output()).not.toContain("migration applied");
			await eventually(() => leftovers().length === 0, { what: "no process left using the data dir" });
		}
	}, 120_000);
});
