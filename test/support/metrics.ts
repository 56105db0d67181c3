/** Reading Prometheus text in tests: samples of one metric, and `promtool check metrics`. */

export interface PromSample {
	name: string;
	labels: Record<string, string>;
	value: number;
}

/** Every sample in `text` (comments skipped). */
export function parseSamples(text: string): PromSample[] {
	const samples: PromSample[] = [];
	for (const line of text.split("\n")) {
		if (!line || line.startsWith("#")) continue;
		const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/);
		if (!m) continue;
		const labels: Record<string, string> = {};
		for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
			labels[l[1]!] = l[2]!;
		samples.push({ name: m[1]!, labels, value: Number(m[3]) });
	}
	return samples;
}

/** The samples of `name`, optionally only those whose labels include `labels`. */
export function samplesOf(text: string, name: string, labels: Record<string, string> = {}): PromSample[] {
	return parseSamples(text).filter(
		(s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
	);
}

export const sumOf = (text: string, name: string, labels: Record<string, string> = {}) =>
	samplesOf(text, name, labels).reduce((n, s) => n + s.value, 0);

/** Metric family names a scrape declares (`# TYPE` lines). */
export const familiesOf = (text: string): Set<string> =>
	new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));

/** Runs `promtool check metrics` on `text`: its exit code and what it printed. */
export async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
	const child = Bun.spawn(["promtool", "check", "metrics"], {
		stdin: "pipe",
		stdout: "pipe",
		stderr: "pipe",
	});
	child.stdin.write(text);
	await child.stdin.end();
	const [out, err, code] = await Promise.all([
		new Response(child.stdout).text(),
		new Response(child.stderr).text(),
		child.exited,
	]);
	return { code, output: `${out}${err}`.trim() };
}
