import { loadTool } from "../lib/load.ts";
import { BUN, cpuSeconds, median, spawnChild, stopChild } from "../lib/proc.ts";

const variants = process.argv.slice(2);
const tool = loadTool();
const ts = [] as { v: string; c: ReturnType<typeof spawnChild>; url: string }[];
ts.push({ v: "raw", c: spawnChild([BUN, "bench/servers/raw.ts"], process.env), url: "" });
for (const v of variants)
	ts.push({ v, c: spawnChild([BUN, "bench/.scratch/srv.ts"], { ...process.env, V: v }), url: "" });
for (const t of ts)
	t.url = `http://127.0.0.1:${(await t.c.waitForLine(/^LISTENING/, 20000)).split(" ")[1]}/health`;
const res = new Map<string, { rps: number[]; cpu: number[] }>(ts.map((t) => [t.v, { rps: [], cpu: [] }]));
for (const t of ts) await tool.run(t.url, { connections: 64, seconds: 1 });
for (let r = 0; r < Number(process.env.R ?? 3); r++)
	for (const t of ts) {
		const c0 = cpuSeconds(t.c.proc.pid);
		const x = await tool.run(t.url, { connections: 64, seconds: 3 });
		res.get(t.v)!.rps.push(x.rps);
		res.get(t.v)!.cpu.push(((cpuSeconds(t.c.proc.pid) - c0) * 1e6) / x.requests);
	}
for (const [v, x] of res)
	console.log(
		v.padEnd(18),
		Math.round(median(x.rps)),
		"req/s",
		median(x.cpu).toFixed(1),
		"us/req",
		x.cpu.map((c) => c.toFixed(1)).join(" "),
	);
await Promise.all(ts.map((t) => stopChild(t.c, 3000)));
