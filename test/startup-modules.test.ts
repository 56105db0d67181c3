/**
 * What a role loads at start-up: with tracing and the event bus off, `all`
 * (api + worker + bridge + processor) never loads the OpenTelemetry SDK, the
 * NATS client or Temporal's OpenTelemetry interceptors; with both on, it
 * loads them (so the check can see them). The role runs as an operator runs
 * it, with a preload that writes its module registry at exit.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../src/infra/process.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { type NatsServer, startNatsServer } from "./support/nats.ts";
import { type OtlpReceiver, startOtlpReceiver } from "./support/otlp.ts";
import { serviceEnv } from "./support/roles.ts";
import { eventually } from "./support/wait.ts";

const ROOT = resolve(import.meta.dir, "..");
const LAZY = [
	"@opentelemetry/sdk-trace-base",
	"@opentelemetry/exporter-trace-otlp-http",
	"@opentelemetry/resources",
	"@temporalio/interceptors-opentelemetry",
	"@nats-io/",
];

let db: TestDatabase;
let nats: NatsServer;
let otlp: OtlpReceiver;

beforeAll(async () => {
	db = await freshDatabase();
	nats = await startNatsServer();
	otlp = startOtlpReceiver();
});

afterAll(async () => {
	otlp?.stop();
	await nats?.dispose();
	await db?.drop();
});

/** Starts `all` until it is ready, stops it with SIGTERM: the packages of LAZY it had loaded. */
async function loadedBy(env: Record<string, string>): Promise<string[]> {
	const file = join(tmpdir(), `herald-modules-${process.pid}-${crypto.randomUUID()}.txt`);
	const child = Bun.spawn(
		[process.execPath, "--preload", "./test/fixtures/loaded-modules.ts", "src/main.ts", "all"],
		{
			cwd: ROOT,
			env: {
				PATH: process.env.PATH ?? "",
				HOME: process.env.HOME ?? "/root",
				LOG_LEVEL: "info",
				METRICS_PORT: "0",
				HOST: "127.0.0.1",
				PORT: String(freePort()),
				AUTH_JWT_SECRET: "startup-modules-secret-0123456789-0123456789",
				TEMPORAL_TASK_QUEUE: `test-startup-modules-${process.pid}-${crypto.randomUUID().slice(0, 8)}`,
				HERALD_TEST_MODULES_FILE: file,
				...(await serviceEnv(db.url)),
				...env,
			},
			stdin: "ignore",
			stdout: "pipe",
			stderr: "pipe",
		},
	);
	let out = "";
	const decoder = new TextDecoder();
	const drained = Promise.all(
		[child.stdout, child.stderr].map(async (s) => {
			for await (const chunk of s) out += decoder.decode(chunk, { stream: true });
		}),
	);
	try {
		await eventually(() => out.includes('"msg":"ready"') || child.exitCode !== null, {
			what: "the role ready",
			timeoutMs: 60_000,
		});
		expect(child.exitCode).toBeNull();
		child.kill("SIGTERM");
		expect(await child.exited).toBe(0);
		await drained;
		const modules = readFileSync(file, "utf8").split("\n");
		expect(modules.some((m) => m.endsWith("src/app/worker.ts"))).toBe(true); // the registry is there
		return LAZY.filter((pkg) => modules.some((m) => m.includes(`/node_modules/${pkg}`)));
	} finally {
		if (child.exitCode === null) child.kill("SIGKILL");
		rmSync(file, { force: true });
	}
}

describe("start-up loads what is on", () => {
	test("tracing and the bus off: no OpenTelemetry SDK, no NATS client, no Temporal OTel interceptors", async () => {
		expect(await loadedBy({})).toEqual([]);
	}, 90_000);

	test("tracing and the bus on: all of them", async () => {
		expect(await loadedBy({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, NATS_URL: nats.url })).toEqual(LAZY);
	}, 90_000);
});
