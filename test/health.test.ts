/** /api/v1/health against the real services, and against a database that is not there. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createApp } from "../src/app/api.ts";
import { createSql, pingDatabase, type Sql } from "../src/infra/db/sql.ts";
import { createLogger } from "../src/infra/log.ts";
import { freePort } from "../src/infra/process.ts";
import { createRedis, pingRedis } from "../src/infra/redis/client.ts";
import {
	connectTemporalClient,
	pingTemporal,
	type TemporalClientHandle,
} from "../src/infra/temporal/client.ts";
import { testEnv } from "./support/env.ts";

let sql: Sql;
let deadSql: Sql;
let temporal: TemporalClientHandle;

beforeAll(async () => {
	const env = await testEnv();
	sql = createSql(env.databaseUrl, { max: 2 });
	deadSql = createSql(`postgres://postgres:secret-pw@127.0.0.1:${freePort()}/nope`, { max: 1 });
	temporal = await connectTemporalClient({ address: env.temporalAddress, namespace: "default" });
});

afterAll(async () => {
	await sql.end();
	await deadSql.end({ timeout: 0 });
	await temporal.close();
});

async function report(database: Sql) {
	const env = await testEnv();
	const redis = createRedis({ url: env.redisRestUrl, token: env.redisRestToken });
	const app = createApp({
		log: createLogger("silent"),
		version: "test",
		corsOrigins: ["*"],
		bodyLimitBytes: 1024,
		probes: {
			database: () => pingDatabase(database),
			temporal: () => pingTemporal(temporal.client),
			redis: () => pingRedis(redis),
		},
	});
	const res = await app.handle(new Request("http://localhost/api/v1/health"));
	return { status: res.status, body: (await res.json()) as Record<string, any> };
}

test("all three dependencies up: 200, status ok, latencies measured", async () => {
	const { status, body } = await report(sql);
	expect(status).toBe(200);
	expect(body.status).toBe("ok");
	for (const dep of ["database", "temporal", "redis"]) {
		expect(body[dep].status).toBe("up");
		expect(body[dep].latencyMs).toBeGreaterThan(0);
	}
});

test("database unreachable: 503 degraded, the others still up, no password in the error", async () => {
	const { status, body } = await report(deadSql);
	expect(status).toBe(503);
	expect(body.status).toBe("degraded");
	expect(body.database.status).toBe("down");
	expect(body.temporal.status).toBe("up");
	expect(body.redis.status).toBe("up");
	expect(JSON.stringify(body)).not.toContain("secret-pw");
});
