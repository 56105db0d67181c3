/**
 * Metrics in one process: HTTP RED metrics by route template (random paths
 * add no series), in-flight back to zero, Redis calls by command, and a
 * scrape that passes `promtool check metrics`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { counter, gauge, histogram, sampled, scrape } from "../src/infra/metrics.ts";
import { createRedis } from "../src/infra/redis/client.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { testEnv } from "./support/env.ts";
import { familiesOf, promtoolCheck, samplesOf, sumOf } from "./support/metrics.ts";
import { Device, newId } from "./support/sync.ts";
import { register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

let t: TestApp;
beforeAll(async () => {
	t = await startTestApp();
});
afterAll(async () => {
	await t?.stop();
});

const DURATION = "http_request_duration_seconds_count";
const series = async () => samplesOf(await scrape(), DURATION).length;

describe("HTTP RED metrics", () => {
	test("a request counts under its route template, method and status", async () => {
		const id = crypto.randomUUID();
		const labels = { method: "GET", route: "/api/v1/events/:id", status_code: "401" };
		const before = sumOf(await scrape(), DURATION, labels);
		const res = await t.request("GET", `/api/v1/events/${id}`);
		expect(res.status).toBe(401);
		await eventually(async () => sumOf(await scrape(), DURATION, labels) === before + 1, {
			what: "the request counted",
		});
		const text = await scrape();
		expect(text).not.toContain(id); // the raw path never becomes a label
		expect(sumOf(text, DURATION, { route: "/health", status_code: "200" })).toBeGreaterThanOrEqual(0);
	});

	test("1,000 random paths add no series (they are all `unmatched`)", async () => {
		await t.request("GET", "/no/such/route/warmup");
		await eventually(
			async () => sumOf(await scrape(), DURATION, { route: "unmatched", status_code: "404" }) > 0,
		);
		const before = await series();
		const unmatchedBefore = sumOf(await scrape(), DURATION, { route: "unmatched" });
		const paths = fc.sample(
			fc.webPath().filter((p) => p.length > 1 && !p.startsWith("/api") && !p.startsWith("/ws")),
			1000,
		);
		let notFound = 0;
		for (const path of paths) {
			const res = await t.app.handle(new Request(`http://localhost/zz${path}`, { method: "GET" }));
			await res.arrayBuffer();
			if (res.status === 404) notFound++;
		}
		await eventually(
			async () => sumOf(await scrape(), DURATION, { route: "unmatched" }) >= unmatchedBefore + notFound,
			{ what: "every random path counted" },
		);
		expect(notFound).toBeGreaterThan(900);
		expect(await series()).toBe(before);
	});

	test("requests in flight go back to zero, errors and early refusals included", async () => {
		await Promise.all([
			t.request("GET", "/health"),
			t.request("POST", "/api/v1/auth/login", { body: { email: 1 } }), // 422
			t.request("GET", "/health", { headers: { "content-length": String(10 ** 9) } }), // 413 in onRequest
			t.request("OPTIONS", "/api/v1/events", {
				headers: { origin: "http://x.test", "access-control-request-method": "POST" },
			}),
		]);
		await eventually(async () => samplesOf(await scrape(), "http_requests_in_flight")[0]?.value === 0, {
			what: "in-flight back to 0",
		});
	});
});

describe("domain counters", () => {
	test("sync pushes and their mutations by status", async () => {
		const user = await register(t);
		const device = new Device(t, user.accessToken);
		const before = await scrape();
		const m = device.mutate("createContact", { id: newId(), name: "Metered" });
		await device.rawPush([m]);
		await device.rawPush([m]); // a replay: duplicate
		const after = await scrape();
		expect(sumOf(after, "herald_sync_pushes_total") - sumOf(before, "herald_sync_pushes_total")).toBe(2);
		const delta = (status: string) =>
			sumOf(after, "herald_sync_mutations_total", { status }) -
			sumOf(before, "herald_sync_mutations_total", { status });
		expect([delta("applied"), delta("duplicate")]).toEqual([1, 1]);
	});
});

describe("Redis and the registry", () => {
	test("Redis requests are timed by command", async () => {
		const env = await testEnv();
		const redis = createRedis({ url: env.redisRestUrl, token: env.redisRestToken });
		const labels = { command: "incr", outcome: "ok" };
		const before = sumOf(await scrape(), "herald_redis_request_duration_seconds_count", labels);
		await redis.incr(`metrics-test:${crypto.randomUUID()}`);
		expect(sumOf(await scrape(), "herald_redis_request_duration_seconds_count", labels)).toBe(before + 1);
	});

	test("declaring a metric twice returns the first; other labels are an error", () => {
		const a = counter("herald_test_things_total", "things", ["kind"]);
		expect(counter("herald_test_things_total", "things", ["kind"])).toBe(a);
		expect(() => counter("herald_test_things_total", "things", ["other"])).toThrow(/declared twice/);
		expect(() => gauge("herald_test_things_total", "things", ["kind"])).toThrow(/declared twice/);
	});

	test("a sampled gauge reads at scrape time; a failing read drops its series and counts", async () => {
		let value = 3;
		let fail = false;
		const stop = sampled("herald_test_sampled", "sampled", ["k"], async () => {
			if (fail) throw new Error("down");
			return [{ labels: { k: "a" }, value }];
		});
		expect(samplesOf(await scrape(), "herald_test_sampled", { k: "a" })[0]?.value).toBe(3);
		value = 5;
		expect(samplesOf(await scrape(), "herald_test_sampled", { k: "a" })[0]?.value).toBe(5);
		fail = true;
		expect(samplesOf(await scrape(), "herald_test_sampled")).toHaveLength(0);
		expect(
			sumOf(await scrape(), "herald_metrics_sample_errors_total", { metric: "herald_test_sampled" }),
		).toBeGreaterThanOrEqual(1);
		stop();
		fail = false;
		expect(samplesOf(await scrape(), "herald_test_sampled")).toHaveLength(0);
	});

	test("a labelless sampled gauge: a failing read drops it (no 0), and so do an empty read and no reader", async () => {
		let fail = false;
		let empty = false;
		const stop = sampled("herald_test_sampled_plain", "sampled, no labels", [], async () => {
			if (fail) throw new Error("down");
			return empty ? [] : [{ value: 7 }];
		});
		const plain = async () => samplesOf(await scrape(), "herald_test_sampled_plain").map((s) => s.value);
		expect(await plain()).toEqual([7]);
		fail = true;
		const errors = () =>
			scrape().then((text) =>
				sumOf(text, "herald_metrics_sample_errors_total", { metric: "herald_test_sampled_plain" }),
			);
		const before = await errors();
		expect(await plain()).toEqual([]);
		expect(await errors()).toBeGreaterThan(before);
		fail = false;
		expect(await plain()).toEqual([7]);
		empty = true;
		expect(await plain()).toEqual([]);
		empty = false;
		expect(await plain()).toEqual([7]);
		stop();
		expect(await plain()).toEqual([]);
		expect((await promtoolCheck(await scrape())).code).toBe(0);
	});

	test("a scrape passes promtool check metrics", async () => {
		histogram("herald_test_latency_seconds", "latency").observe(0.01);
		const text = await scrape();
		expect(familiesOf(text).has("http_request_duration_seconds")).toBe(true);
		const { code, output } = await promtoolCheck(text);
		expect(output).toBe("");
		expect(code).toBe(0);
	});
});
