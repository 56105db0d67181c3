/**
 * Every production role serves `/metrics` and `/health` on METRICS_PORT, as
 * a spawned process: the worker's scrape carries the Temporal SDK runtime's
 * own exporter (`Runtime.install` runs once per process, so only a process of
 * its own can test it), the bridge's the outbox backlog and its signals, the
 * api's the HTTP RED metrics, the processor's its batches and lag behind
 * ingestion; each scrape passes `promtool check metrics`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort } from "../src/infra/process.ts";
import { freshDatabase, type TestDatabase } from "./support/db.ts";
import { dashboardExprs, familiesNamed, ruleExprs } from "./support/deploy.ts";
import { familiesOf, promtoolCheck, samplesOf, sumOf } from "./support/metrics.ts";
import { herald, killChildren, type RoleProcess, serviceEnv } from "./support/roles.ts";
import { eventually } from "./support/wait.ts";

let db: TestDatabase;
const ports = {
	worker: freePort(),
	bridge: freePort(),
	processor: freePort(),
	api: freePort(),
	apiMetrics: freePort(),
};
const roles: Record<string, RoleProcess> = {};

export const scrapeOf = async (port: number) => {
	const res = await fetch(`http://127.0.0.1:${port}/metrics`);
	expect(res.status).toBe(200);
	expect(res.headers.get("content-type")).toContain("text/plain");
	return res.text();
};

beforeAll(async () => {
	db = await freshDatabase();
	const env = {
		...(await serviceEnv(db.url)),
		TEMPORAL_TASK_QUEUE: `test-metrics-${process.pid}`,
		BRIDGE_POLL_MS: "500",
		METRICS_HOST: "127.0.0.1",
	};
	roles.worker = herald(["worker"], { ...env, METRICS_PORT: String(ports.worker) });
	roles.bridge = herald(["bridge"], { ...env, METRICS_PORT: String(ports.bridge) });
	roles.processor = herald(["processor"], { ...env, METRICS_PORT: String(ports.processor) });
	roles.api = herald(["api"], {
		...env,
		METRICS_PORT: String(ports.apiMetrics),
		PORT: String(ports.api),
		HOST: "127.0.0.1",
		AUTH_JWT_SECRET: "metrics-processes-secret-0123456789-0123456789",
	});
	for (const role of Object.values(roles))
		await eventually(() => role.output().includes('"msg":"ready"') || role.child.exitCode !== null, {
			what: "role ready",
			timeoutMs: 60_000,
		});
	for (const [name, role] of Object.entries(roles))
		expect({
			name,
			exit: role.child.exitCode,
			output: role.child.exitCode === null ? "" : role.output(),
		}).toEqual({
			name,
			exit: null,
			output: "",
		});
});

afterAll(async () => {
	killChildren();
	await db?.drop();
});

describe("METRICS_PORT in every role", () => {
	test("worker: the Temporal SDK runtime's exporter is part of the scrape", async () => {
		const text = await eventually(
			async () => {
				const t = await scrapeOf(ports.worker);
				return samplesOf(t, "temporal_worker_task_slots_available").length > 0 ? t : undefined;
			},
			{ what: "temporal_worker_task_slots_available in the worker's scrape", timeoutMs: 30_000 },
		);
		expect(familiesOf(text).has("process_cpu_seconds_total")).toBe(true);
		const { code, output } = await promtoolCheck(text);
		expect(output).toBe("");
		expect(code).toBe(0);
	});

	test("bridge: outbox backlog and signals", async () => {
		const [user] =
			await db.sql`insert into users (email, display_name) values ('metrics@example.com', 'M') returning id`;
		const before = sumOf(await scrapeOf(ports.bridge), "herald_bridge_signals_total", { outcome: "ok" });
		await db.sql`
			insert into events (owner_id, title, starts_at, ends_at, capacity)
			values (${user!.id}, 'metrics', now() + interval '30 days', now() + interval '30 days 2 hours', 10)`;
		await eventually(
			async () =>
				sumOf(await scrapeOf(ports.bridge), "herald_bridge_signals_total", { outcome: "ok" }) > before,
			{ what: "the bridge's signal counted", timeoutMs: 30_000 },
		);
		const text = await eventually(async () => {
			const t = await scrapeOf(ports.bridge);
			const drained = samplesOf(t, "herald_outbox_pending")[0]?.value === 0;
			return drained && sumOf(t, "herald_bridge_changes_delivered_total") >= 1 ? t : undefined;
		});
		expect(samplesOf(text, "herald_outbox_lag_seconds")[0]?.value).toBe(0);
		expect((await promtoolCheck(text)).code).toBe(0);
	});

	test("api: RED metrics on the metrics port, not on the public one", async () => {
		const res = await fetch(`http://127.0.0.1:${ports.api}/api/v1/events/${crypto.randomUUID()}`);
		expect(res.status).toBe(401);
		const text = await eventually(async () => {
			const t = await scrapeOf(ports.apiMetrics);
			return sumOf(t, "http_request_duration_seconds_count", { route: "/api/v1/events/:id" }) > 0
				? t
				: undefined;
		});
		expect((await promtoolCheck(text)).code).toBe(0);
		expect((await fetch(`http://127.0.0.1:${ports.api}/metrics`)).status).toBe(404);
		const health = await fetch(`http://127.0.0.1:${ports.apiMetrics}/health`);
		expect(health.status).toBe(200);
	});

	test("processor: its batches and its lag behind ingestion", async () => {
		const text = await eventually(async () => {
			const t = await scrapeOf(ports.processor);
			return sumOf(t, "herald_trigger_processor_batch_duration_seconds_count") > 0 ? t : undefined;
		});
		expect(samplesOf(text, "herald_trigger_processor_lag_seconds")[0]?.value).toBe(0);
		expect(samplesOf(text, "herald_trigger_processor_lag_events")[0]?.value).toBe(0);
		expect(familiesOf(text).has("herald_trigger_fires_total")).toBe(true);
		expect(familiesOf(text).has("process_cpu_seconds_total")).toBe(true);
		const { code, output } = await promtoolCheck(text);
		expect(output).toBe("");
		expect(code).toBe(0);
		expect((await fetch(`http://127.0.0.1:${ports.processor}/health`)).status).toBe(200);
	});

	test("every metric the dashboard and the alert rules name is in a live scrape", async () => {
		// After the tests above: the worker ran the event actor's workflow tasks.
		const families = await eventually(
			async () => {
				const all = new Set<string>();
				for (const port of [ports.worker, ports.bridge, ports.processor, ports.apiMetrics])
					for (const f of familiesOf(await scrapeOf(port))) all.add(f);
				return all.has("temporal_workflow_task_schedule_to_start_latency") ? all : undefined;
			},
			{ what: "the worker's schedule-to-start histogram", timeoutMs: 30_000 },
		);
		const named = familiesNamed([...dashboardExprs(), ...ruleExprs()], families);
		expect(named.size).toBeGreaterThan(20);
		const missing = [...named].filter((n) => !families.has(n));
		expect(missing).toEqual([]);
	});
});
