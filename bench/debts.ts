/**
 * Debts (issue 12) on the `api` role as deployed (`bun src/main.ts api`,
 * embedded PostgreSQL + Temporal + Redis gateway):
 * 1. `POST /api/v1/transactions` at a steady rate (open loop: one request
 *    every 1/BENCH_RATE s whether or not earlier ones finished, so queueing
 *    shows in the tail), p50/p99, beside `GET /health` at the same rate from
 *    the same loader in the same run (the baseline);
 * 2. `GET /api/v1/balances?limit=1000` for a user with 10,000 transactions
 *    over 200 contacts (two currencies), with the load tool at
 *    BENCH_CONNECTIONS (saturating: latency includes queueing) and at one
 *    connection (each request's own latency), beside `GET /health`.
 *    Goal: p99 < 20 ms.
 * Knobs: BENCH_SECONDS (default 5), BENCH_RATE (create rate, default 200/s),
 * BENCH_CONNECTIONS (balances, default 4), BENCH_TRANSACTIONS (10000),
 * BENCH_CONTACTS (200).
 */
import { type ApiUnderTest, startApiOnEmbedded } from "./lib/api.ts";
import { loadTool } from "./lib/load.ts";
import { fmt, knob, machine, summary } from "./lib/proc.ts";

interface Steady {
	sent: number;
	ok: number;
	p50: number;
	p99: number;
	achievedRps: number;
}

/** Open-loop fixed-rate requests for `seconds`; latencies of every request. */
async function steady(
	rate: number,
	seconds: number,
	send: (i: number) => Promise<Response>,
): Promise<Steady> {
	const latencies: number[] = [];
	const inflight: Promise<void>[] = [];
	let ok = 0;
	const t0 = performance.now();
	const total = Math.round(rate * seconds);
	for (let i = 0; i < total; i++) {
		const due = t0 + (i * 1000) / rate;
		const wait = due - performance.now();
		if (wait > 0) await Bun.sleep(wait);
		const s = performance.now();
		inflight.push(
			send(i)
				.then(async (res) => {
					await res.arrayBuffer();
					if (res.status >= 200 && res.status < 300) ok++;
				})
				.catch(() => {})
				.finally(() => latencies.push(performance.now() - s)),
		);
	}
	await Promise.all(inflight);
	const elapsed = (performance.now() - t0) / 1000;
	latencies.sort((a, b) => a - b);
	const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
	return { sent: total, ok, p50: pct(0.5), p99: pct(0.99), achievedRps: total / elapsed };
}

export async function runDebts(): Promise<void> {
	const seconds = knob("BENCH_SECONDS", 5);
	const rate = knob("BENCH_RATE", 200);
	const connections = knob("BENCH_CONNECTIONS", 4);
	const transactions = knob("BENCH_TRANSACTIONS", 10_000);
	const contactCount = knob("BENCH_CONTACTS", 200);
	const tool = loadTool();
	console.log(
		"== debts: create transaction at a steady rate; GET /api/v1/balances over 10,000 transactions ==",
	);
	let server: ApiUnderTest | undefined;
	try {
		server = await startApiOnEmbedded("debts");
		const base = server.base;
		const reg = await fetch(`${base}/api/v1/auth/register`, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({
				email: "debts@example.com",
				password: "benchmark password",
				displayName: "Bench",
			}),
		});
		const { accessToken } = (await reg.json()) as { accessToken: string };
		const auth = { authorization: `Bearer ${accessToken}` };
		const json = { ...auth, "content-type": "application/json" };
		const post = (path: string, body: unknown) =>
			fetch(`${base}${path}`, { method: "POST", headers: json, body: JSON.stringify(body) });

		// Seed: contacts, then transactions spread over them (8 writers), kinds and currencies mixed.
		const t0 = performance.now();
		const contacts: string[] = [];
		for (let i = 0; i < contactCount; i++) {
			const res = await post("/api/v1/contacts", { name: `Contact ${String(i).padStart(3, "0")}` });
			if (res.status !== 201) throw new Error(`POST /contacts answered ${res.status}`);
			contacts.push(((await res.json()) as { id: string }).id);
		}
		const kinds = ["lent", "borrowed", "payment_in", "payment_out"];
		let next = 0;
		const writer = async () => {
			for (let i = next++; i < transactions; i = next++) {
				const res = await post("/api/v1/transactions", {
					contactId: contacts[i % contacts.length],
					kind: kinds[i % 4],
					currency: i % 3 === 0 ? "USD" : "EUR",
					amountMinor: 100 + (i % 997),
					occurredOn: "2026-01-01",
				});
				if (res.status !== 201) throw new Error(`POST /transactions answered ${res.status}`);
				await res.arrayBuffer();
			}
		};
		await Promise.all(Array.from({ length: 8 }, writer));
		const seedSeconds = (performance.now() - t0) / 1000;

		// 1. Create at a steady rate (after a short warm-up), beside /health at the same rate.
		const create = (i: number) =>
			post("/api/v1/transactions", {
				contactId: contacts[i % contacts.length],
				kind: "lent",
				currency: "EUR",
				amountMinor: 1 + (i % 5000),
				occurredOn: "2026-02-01",
			});
		await steady(rate, 1, create);
		const health = await steady(rate, seconds, () => fetch(`${base}/health`));
		const created = await steady(rate, seconds, create);

		// 2. The balance list, with the load tool, beside /health.
		const balancesUrl = `${base}/api/v1/balances?limit=1000`;
		const check = await fetch(balancesUrl, { headers: auth });
		const page = (await check.json()) as { total: number; items: unknown[] };
		if (check.status !== 200 || page.items.length !== page.total)
			throw new Error(`GET /balances answered ${check.status} with ${page.items.length}/${page.total} rows`);
		await tool.run(balancesUrl, { connections, seconds: 1, headers: auth }); // warm-up
		const hBase = await tool.run(`${base}/health`, { connections, seconds });
		const bal = await tool.run(balancesUrl, { connections, seconds, headers: auth });
		// One connection: each request's own latency, without queueing behind the others.
		const bal1 = await tool.run(balancesUrl, { connections: 1, seconds, headers: auth });

		const goal = (r: { p99Ms: number }) => (r.p99Ms < 20 ? "MET" : "NOT MET");
		const lines = [
			"debts:",
			`  seed: ${contactCount} contacts, ${transactions} transactions via POST (8 writers) in ${seedSeconds.toFixed(1)} s ` +
				`(${fmt(transactions / seedSeconds)} creates/s closed loop)`,
			`  POST /api/v1/transactions at ${rate}/s for ${seconds} s: p50 ${created.p50.toFixed(2)} ms   p99 ${created.p99.toFixed(2)} ms   ` +
				`${created.sent - created.ok} non-2xx   (achieved ${fmt(created.achievedRps)}/s)`,
			`  GET /health at ${rate}/s (same loader, baseline):  p50 ${health.p50.toFixed(2)} ms   p99 ${health.p99.toFixed(2)} ms`,
			`  GET /api/v1/balances (${page.total} rows), ${connections} connections: ${fmt(bal.rps)} req/s   p50 ${bal.p50Ms.toFixed(2)} ms   p99 ${bal.p99Ms.toFixed(2)} ms   ${bal.non2xx + bal.errors} errors/non-2xx`,
			`  GET /api/v1/balances, 1 connection: ${fmt(bal1.rps)} req/s   p50 ${bal1.p50Ms.toFixed(2)} ms   p99 ${bal1.p99Ms.toFixed(2)} ms`,
			`  GET /health (same tool, ${connections} connections, baseline): ${fmt(hBase.rps)} req/s   p50 ${hBase.p50Ms.toFixed(2)} ms   p99 ${hBase.p99Ms.toFixed(2)} ms`,
			`  goal GET /api/v1/balances p99 < 20 ms: ${goal(bal)} at ${connections} connections (saturated), ${goal(bal1)} at 1 connection`,
			`  measured with: creates and their baseline by an open-loop fetch loader in the bench process (one request every ` +
				`1/${rate} s); balances and its baseline by ${tool.name} [${tool.note}], ${connections} connections, ${seconds} s each; ` +
				`\`bun src/main.ts api\` (LOG_LEVEL=info, HS256) on embedded PostgreSQL + Temporal + Redis gateway; ${machine()}`,
		];
		console.log(lines.join("\n"));
		await summary(lines);
	} finally {
		await server?.stop(5000);
		server?.removeDataDir();
	}
}

if (import.meta.main) await runDebts();
