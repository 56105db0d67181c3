/** What deploy/ names: the metrics the Grafana dashboard and the Prometheus alert rules query. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const DEPLOY = join(import.meta.dir, "../../deploy");

const METRIC = /\b(?:herald|http|temporal|process|nodejs)_[a-z0-9_]+\b/g;

export function dashboardExprs(): string[] {
	const dashboard = JSON.parse(readFileSync(join(DEPLOY, "grafana/dashboards/herald.json"), "utf8")) as {
		panels: { targets?: { expr: string }[] }[];
	};
	// Rows (type "row") group the panels below them and query nothing.
	return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

export function ruleExprs(): string[] {
	const rules = Bun.YAML.parse(readFileSync(join(DEPLOY, "prometheus/alerts.yml"), "utf8")) as {
		groups: { rules: { expr: string }[] }[];
	};
	return rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

/** Metric families named in `exprs` (a histogram's `_bucket`/`_count`/`_sum` series name its family). */
export function familiesNamed(exprs: string[], families: Set<string>): Set<string> {
	const names = new Set<string>();
	for (const expr of exprs)
		for (const [name] of expr.matchAll(METRIC)) {
			const base = name.replace(/_(bucket|count|sum)$/, "");
			names.add(families.has(name) ? name : base);
		}
	return names;
}
