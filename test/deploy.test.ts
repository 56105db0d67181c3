/**
 * deploy/: the Prometheus configuration and its alert rules pass promtool,
 * `promtool test rules` covers every alert, and the Grafana dashboard is a
 * loadable dashboard whose every panel queries something. (That every metric
 * they name exists in a live scrape is checked in metrics-processes.test.ts.)
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEPLOY, dashboardExprs, ruleExprs } from "./support/deploy.ts";

const promtool = async (...args: string[]) => {
	const child = Bun.spawn(["promtool", ...args], {
		cwd: join(DEPLOY, "prometheus"),
		stdout: "pipe",
		stderr: "pipe",
	});
	const [out, err, code] = await Promise.all([
		new Response(child.stdout).text(),
		new Response(child.stderr).text(),
		child.exited,
	]);
	return { code, output: `${out}${err}` };
};

describe("deploy/", () => {
	test("prometheus.yml and its rule files pass promtool check config", async () => {
		const { code, output } = await promtool("check", "config", "prometheus.yml");
		expect(output).toContain("SUCCESS");
		expect(code).toBe(0);
	});

	test("promtool test rules passes, and every alert has a test", async () => {
		const { code, output } = await promtool("test", "rules", "alerts.test.yml");
		expect(output).toContain("SUCCESS");
		expect(code).toBe(0);
		const alerts = (
			Bun.YAML.parse(readFileSync(join(DEPLOY, "prometheus/alerts.yml"), "utf8")) as {
				groups: { rules: { alert: string }[] }[];
			}
		).groups.flatMap((g) => g.rules.map((r) => r.alert));
		const tested = readFileSync(join(DEPLOY, "prometheus/alerts.test.yml"), "utf8");
		for (const alert of alerts)
			expect({ alert, tested: tested.includes(`alertname: ${alert}`) }).toEqual({ alert, tested: true });
		expect(alerts).toEqual(
			expect.arrayContaining([
				"HeraldBridgeLag",
				"HeraldCircuitOpen",
				"HeraldWorkflowScheduleToStartHigh",
				"HeraldTriggerProcessorLag",
			]),
		);
	});

	test("a broken expectation fails promtool test rules (the test is not vacuous)", async () => {
		const dir = await import("node:fs").then((fs) => fs.mkdtempSync("/tmp/herald-rules-"));
		const fs = await import("node:fs");
		fs.copyFileSync(join(DEPLOY, "prometheus/alerts.yml"), join(dir, "alerts.yml"));
		const broken = readFileSync(join(DEPLOY, "prometheus/alerts.test.yml"), "utf8").replace(
			"eval_time: 8m\n        alertname: HeraldBridgeLag",
			"eval_time: 3m\n        alertname: HeraldBridgeLag",
		);
		fs.writeFileSync(join(dir, "alerts.test.yml"), broken);
		const child = Bun.spawn(["promtool", "test", "rules", "alerts.test.yml"], {
			cwd: dir,
			stdout: "pipe",
			stderr: "pipe",
		});
		expect(await child.exited).not.toBe(0);
		fs.rmSync(dir, { recursive: true, force: true });
	});

	test("the dashboard: unique panel ids, every panel queries Prometheus", () => {
		const dashboard = JSON.parse(readFileSync(join(DEPLOY, "grafana/dashboards/herald.json"), "utf8"));
		expect(dashboard.uid).toBe("herald");
		const ids = dashboard.panels.map((p: { id: number }) => p.id);
		expect(new Set(ids).size).toBe(ids.length);
		type Panel = { type: string; title: string; gridPos: { y: number }; targets?: { expr: string }[] };
		const panels = dashboard.panels as Panel[];
		const queried = panels.filter((p) => p.type !== "row");
		expect(queried.every((p) => p.targets?.length === 1)).toBe(true);
		expect(dashboardExprs().length).toBe(queried.length);
		expect(ruleExprs().length).toBeGreaterThanOrEqual(3);
	});

	test('the "Triggers" row: fires, condition errors, action runs by outcome and processor lag below it', () => {
		const dashboard = JSON.parse(readFileSync(join(DEPLOY, "grafana/dashboards/herald.json"), "utf8"));
		type Panel = { type: string; title: string; gridPos: { y: number }; targets?: { expr: string }[] };
		const panels = dashboard.panels as Panel[];
		const row = panels.find((p) => p.type === "row" && p.title === "Triggers");
		expect(row).toBeDefined();
		const below = panels
			.filter((p) => p.type !== "row" && p.gridPos.y > row!.gridPos.y)
			.map((p) => p.targets![0]!.expr)
			.join("\n");
		for (const metric of [
			"herald_trigger_fires_total",
			"herald_trigger_condition_errors_total",
			"herald_trigger_action_runs_total",
			"herald_trigger_processor_lag_seconds",
		])
			expect({ metric, shown: below.includes(metric) }).toEqual({ metric, shown: true });
		expect(below).toContain("by (kind, outcome)");
	});
});
