/**
 * Fitness sync (issue 15), on one `api` process (embedded services):
 *
 * 1. Sync throughput: BENCH_CLIENTS clients, each posting batches of 500
 *    one-minute samples (new externalIds) for BENCH_SECONDS, every client
 *    a participant of one competition (each batch recomputes its score and
 *    writes the leaderboard). Figure: samples/s and batch p50/p99.
 * 2. Sync → WebSocket update latency with BENCH_SOCKETS (1,000) sockets on
 *    the competition's leaderboard: a sync that puts a new leader on top,
 *    timed from just before the POST to each socket's first update showing
 *    it; p50/p99 over all sockets and syncs. Goal: p99 < 1 s.
 *
 * The sockets' client is this process (Bun's WebSocket), so its own event
 * loop is part of the figure. The machine is shared: figures are from a
 * loaded box.
 */
import { type ApiUnderTest, startApiOnEmbedded } from "./lib/api.ts";
import { fmt, knob, machine, summary } from "./lib/proc.ts";

const percentile = (xs: number[], p: number) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

export async function runFitnessSync(): Promise<void> {
	const seconds = knob("BENCH_SECONDS", 5);
	const clients = knob("BENCH_CLIENTS", 4);
	const sockets = knob("BENCH_SOCKETS", 1000);
	const syncs = knob("BENCH_SYNCS", 10);
	console.log("== fitness-sync: sync throughput; sync → WebSocket latency ==");
	let server: ApiUnderTest | undefined;
	const open: WebSocket[] = [];
	try {
		server = await startApiOnEmbedded("fitness-sync", { env: { AUTH_LIMIT_PER_ADDRESS: "100000" } });
		const base = server.base;
		const call = async (path: string, token: string | undefined, method = "GET", body?: unknown) => {
			const res = await fetch(`${base}${path}`, {
				method,
				headers: {
					"content-type": "application/json",
					...(token ? { authorization: `Bearer ${token}` } : {}),
				},
				body: body === undefined ? undefined : JSON.stringify(body),
			});
			if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
			return res.json() as Promise<any>;
		};
		const register = async (i: number) =>
			(
				await call("/api/v1/auth/register", undefined, "POST", {
					email: `b${i}@bench.example`,
					password: "benchmark password",
					displayName: `b${i}`,
				})
			).accessToken as string;
		const organiser = await register(0);
		const c = await call("/api/v1/competitions", organiser, "POST", {
			name: "Bench",
			metric: "steps",
			timeZone: "UTC",
			startsAt: new Date(Date.now() - 3 * 86_400_000).toISOString(),
			endsAt: new Date(Date.now() + 86_400_000).toISOString(),
		});
		await call(`/api/v1/competitions/${c.id}`, organiser, "PATCH", { status: "open" });
		const tokens: string[] = [];
		for (let i = 1; i <= clients + 1; i++) {
			const token = await register(i);
			await call(`/api/v1/competitions/${c.id}/join`, token, "POST");
			tokens.push(token);
		}

		// 1. Throughput: 10-second samples, each client its own user (scores are per user).
		const step = 10_000;
		const t0 = Date.now() - 2.9 * 86_400_000;
		let samples = 0;
		const batchMs: number[] = [];
		const deadline = performance.now() + seconds * 1000;
		await Promise.all(
			tokens.slice(0, clients).map(async (token, ci) => {
				for (let b = 0; performance.now() < deadline && b < 60; b++) {
					const items = Array.from({ length: 500 }, (_, j) => {
						const start = t0 + (b * 500 + j) * step;
						return {
							source: "watch",
							externalId: `c${ci}b${b}s${j}`,
							startedAt: new Date(start).toISOString(),
							endedAt: new Date(start + step).toISOString(),
							steps: 10,
						};
					});
					const s = performance.now();
					await call("/api/v1/fitness/sync", token, "POST", { items });
					batchMs.push(performance.now() - s);
					samples += items.length;
				}
			}),
		);
		const elapsed = seconds + Math.max(0, (performance.now() - deadline) / 1000);
		const throughput = samples / elapsed;

		// 2. Latency to the sockets: a leader far ahead, then one 1000-step record per timed sync.
		const watcher = tokens[0]!;
		const leader = tokens[clients]!;
		const now = Date.now();
		const base10 = Array.from({ length: 140 }, (_, j) => {
			const start = now - 48 * 3_600_000 + j * 600_000;
			return {
				source: "phone",
				externalId: `base${j}`,
				startedAt: new Date(start).toISOString(),
				endedAt: new Date(start + 600_000).toISOString(),
				steps: 2500,
			};
		});
		const first = await call("/api/v1/fitness/sync", leader, "POST", { items: base10 });
		let expected = first.scores[0].score as number;
		const waiting = new Map<WebSocket, (score: number) => void>();
		await Promise.all(
			Array.from({ length: sockets }, async () => {
				const ws = new WebSocket(
					`${base.replace("http", "ws")}/ws/leaderboard/${c.id}?access_token=${watcher}`,
				);
				open.push(ws);
				await new Promise<void>((resolve, reject) => {
					ws.onerror = () => reject(new Error("socket failed"));
					ws.onmessage = (e) => {
						const m = JSON.parse(String(e.data));
						if (m.type === "leaderboard_snapshot") resolve();
						if (m.type === "leaderboard_update") waiting.get(ws)?.(m.entries[0]?.score ?? 0);
					};
				});
			}),
		);
		const latencies: number[] = [];
		for (let i = 0; i < syncs; i++) {
			expected += 1000;
			const target = expected;
			const started = performance.now();
			const arrived = Promise.all(
				open.map(
					(ws) =>
						new Promise<void>((resolve) => {
							waiting.set(ws, (score) => {
								if (score < target) return;
								latencies.push(performance.now() - started);
								waiting.delete(ws);
								resolve();
							});
						}),
				),
			);
			const start = now - 24 * 3_600_000 + i * 300_000;
			await call("/api/v1/fitness/sync", leader, "POST", {
				items: [
					{
						source: "phone",
						externalId: `inc${i}`,
						startedAt: new Date(start).toISOString(),
						endedAt: new Date(start + 300_000).toISOString(),
						steps: 1000,
					},
				],
			});
			await Promise.race([arrived, Bun.sleep(10_000)]);
		}
		const lines = [
			`fitness-sync (${clients} clients, batches of 500 ten-second samples, ${fmt(elapsed, 1)} s):`,
			`  sync throughput ${fmt(throughput)} samples/s (${batchMs.length} batches; batch p50 ${percentile(batchMs, 50).toFixed(0)} ms, p99 ${percentile(batchMs, 99).toFixed(0)} ms)`,
			`  sync → WebSocket update, ${sockets} sockets × ${syncs} syncs (${latencies.length} arrivals): p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms (LEADERBOARD_PUSH_INTERVAL_MS 250); goal p99 < 1 s: ${percentile(latencies, 99) < 1000 ? "MET" : "NOT MET"}`,
			`  measured with: \`bun src/main.ts api\` on embedded PostgreSQL + Temporal + Redis gateway; clients and sockets in this process; ${machine()}`,
		];
		console.log(lines.join("\n"));
		await summary(lines);
	} finally {
		for (const ws of open) ws.close();
		await server?.stop(5000);
		server?.removeDataDir();
	}
}

if (import.meta.main) await runFitnessSync();
