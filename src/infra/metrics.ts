/**
 * Herald's metrics registry: one per process, in the Prometheus text format
 * (prom-client). Features declare their metrics where they count, at module
 * level, through the helpers below; declaring the same name twice returns the
 * first metric (modules and tests may be loaded more than once), and a name
 * declared again with other labels or another type is an error at start-up.
 *
 *     const fired = counter("herald_reminders_fired_total", "Reminders fired, by outcome", ["outcome"]);
 *     fired.inc({ outcome: "sent" });
 *
 * Rules: names start with `herald_` (HTTP's RED metrics keep their customary
 * names), end in a unit (`_seconds`, `_bytes`) or `_total` for counters, and
 * label values come from a small fixed set (an outcome, a route template, a
 * table) — never an id, a user, a raw path or free text. A value that needs a
 * query is a `sampled` gauge: read on each scrape, by the role that owns it.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, type Metric, Registry } from "prom-client";

export const registry = new Registry();

/** Latency buckets (seconds) for requests and calls that usually take milliseconds. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Kind = "counter" | "gauge" | "histogram";
const declared = new Map<string, { kind: Kind; labels: string }>();

function declare<M extends Metric>(kind: Kind, name: string, labels: readonly string[], make: () => M): M {
	const signature = labels.join(",");
	const seen = declared.get(name);
	if (seen && (seen.kind !== kind || seen.labels !== signature))
		throw new Error(
			`metric ${name} is declared twice: as ${seen.kind}{${seen.labels}} and ${kind}{${signature}}`,
		);
	const existing = registry.getSingleMetric(name);
	if (existing) return existing as unknown as M;
	declared.set(name, { kind, labels: signature });
	return make();
}

export function counter<L extends string = never>(name: string, help: string, labels: readonly L[] = []) {
	return declare(
		"counter",
		name,
		labels,
		() => new Counter<L>({ name, help, labelNames: labels, registers: [registry] }),
	);
}

export function gauge<L extends string = never>(name: string, help: string, labels: readonly L[] = []) {
	return declare(
		"gauge",
		name,
		labels,
		() => new Gauge<L>({ name, help, labelNames: labels, registers: [registry] }),
	);
}

export function histogram<L extends string = never>(
	name: string,
	help: string,
	labels: readonly L[] = [],
	buckets: number[] = LATENCY_BUCKETS,
) {
	return declare(
		"histogram",
		name,
		labels,
		() => new Histogram<L>({ name, help, labelNames: labels, buckets, registers: [registry] }),
	);
}

/**
 * A histogram for a hot path (every HTTP request): each series is a plain
 * array of bucket counts, bound once per label combination with `series()`,
 * so an observation is a bucket search and three additions — prom-client's
 * own histogram hashes the labels on every call. Rendered by prom-client's
 * registry like any other histogram.
 */
export function hotHistogram<L extends string>(
	name: string,
	help: string,
	labels: readonly L[],
	buckets: number[] = LATENCY_BUCKETS,
): { series(values: Record<L, string>): { observe(seconds: number): void } } {
	type Series = { labels: Record<string, string>; counts: number[]; sum: number; count: number };
	const all = new Map<string, Series>();
	const existing = registry.getSingleMetric(name) as unknown as { hot?: ReturnType<typeof hotHistogram<L>> };
	if (existing?.hot) return existing.hot;
	declare("histogram", name, labels, () => ({}) as Metric);
	const hot = {
		series(values: Record<L, string>) {
			const key = labels.map((l) => values[l]).join("\u0000");
			let s = all.get(key);
			if (!s) {
				s = { labels: { ...values }, counts: buckets.map(() => 0), sum: 0, count: 0 };
				all.set(key, s);
			}
			const series = s;
			return {
				observe(seconds: number) {
					let i = 0;
					while (i < buckets.length && seconds > buckets[i]!) i++;
					if (i < buckets.length) series.counts[i]!++;
					series.sum += seconds;
					series.count++;
				},
			};
		},
	};
	const metric = {
		name,
		help,
		type: "histogram",
		aggregator: "sum",
		hot,
		reset: () => all.clear(),
		get: async () => ({
			name,
			help,
			type: "histogram",
			aggregator: "sum",
			values: [...all.values()].flatMap((s) => {
				let cumulative = 0;
				const lines: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
				buckets.forEach((le, i) => {
					cumulative += s.counts[i]!;
					lines.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le }, value: cumulative });
				});
				lines.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: "+Inf" }, value: s.count });
				lines.push({ metricName: `${name}_sum`, labels: s.labels, value: s.sum });
				lines.push({ metricName: `${name}_count`, labels: s.labels, value: s.count });
				return lines;
			}),
		}),
	};
	registry.registerMetric(metric as unknown as Metric);
	return hot;
}

export type Sample<L extends string> = { labels?: Partial<Record<L, string>>; value: number };
const samplers = new Map<string, () => Promise<Sample<string>[]>>();

/**
 * A gauge read at scrape time: `read` returns its current samples (the role
 * that can answer registers it; the last registration wins, and `unregister`
 * — returned — stops it). A failing read drops the gauge's samples from that
 * scrape and counts in `herald_metrics_sample_errors_total`, so a missing
 * series means "could not read", never a stale number, with or without
 * labels: prom-client resets a labelless gauge to 0, not to nothing, so the
 * gauge's `get` returns no values when the read failed, returned nothing, or
 * no role registered a reader. Only what a read returned is exported.
 */
export function sampled<L extends string = never>(
	name: string,
	help: string,
	labels: readonly L[],
	read: () => Promise<Sample<L>[]>,
): () => void {
	samplers.set(name, read as () => Promise<Sample<string>[]>);
	declare("gauge", name, labels, () => {
		/** Whether this scrape's read succeeded with samples (false: the gauge exports none). */
		let answered = false;
		const g = new Gauge<L>({
			name,
			help,
			labelNames: labels,
			registers: [registry],
			async collect() {
				this.reset();
				answered = false;
				const source = samplers.get(name);
				if (!source) return;
				try {
					const samples = await source();
					for (const s of samples) this.set((s.labels ?? {}) as Record<L, string>, s.value);
					answered = samples.length > 0;
				} catch {
					sampleErrors.inc({ metric: name });
				}
			},
		});
		const get = g.get.bind(g);
		g.get = async () => {
			const metric = await get(); // runs collect
			return answered ? metric : { ...metric, values: [] };
		};
		return g;
	});
	return () => {
		if (samplers.get(name) === read) samplers.delete(name);
	};
}

const sampleErrors = counter(
	"herald_metrics_sample_errors_total",
	"Scrape-time reads that failed, by metric",
	["metric"],
);

let processMetrics = false;
/** Node/Bun process metrics (CPU, memory, event loop lag, handles), once per process. */
export function enableProcessMetrics(): void {
	if (processMetrics) return;
	processMetrics = true;
	collectDefaultMetrics({ register: registry });
	// Gauges whose names end in `_total`: `promtool check metrics` rejects them (and they say little).
	for (const name of [
		"nodejs_active_handles_total",
		"nodejs_active_requests_total",
		"nodejs_active_resources_total",
	])
		registry.removeSingleMetric(name);
}

/** The text a scrape returns. */
export const scrape = (): Promise<string> => registry.metrics();
export const CONTENT_TYPE = registry.contentType;
