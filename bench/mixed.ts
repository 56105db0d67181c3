/**
 * A realistic mixed load: many users at once against the `api` role, with
 * the worker and the bridge in their own processes, on embedded PostgreSQL,
 * Temporal and Redis. Each virtual user registers once, then loops without
 * think time over a weighted mix of the main routes of every domain (list
 * and create events, join someone else's event, read notifications, read the
 * profile, …). Prints the mix, then per route: requests, req/s, p50/p99 and
 * errors (any non-2xx that the route should not answer); and the totals.
 *
 * Knobs: BENCH_USERS (default 32), BENCH_SECONDS (default 20).
 */
import { type ApiUnderTest, startApiOnEmbedded } from "./lib/api.ts";
import { fmt, knob, machine, summary } from "./lib/proc.ts";

const users = knob("BENCH_USERS", 32);
const seconds = knob("BENCH_SECONDS", 20);

interface User {
	token: string;
	events: string[];
	contacts: string[];
}

interface Ctx {
	base: string;
	user: User;
	/** Events other users created: something to join. */
	shared: string[];
}

interface Step {
	readonly name: string;
	readonly weight: number;
	/** Statuses that are a correct answer (e.g. 409 for joining an event twice). */
	readonly ok: readonly number[];
	run(ctx: Ctx): Promise<Response>;
}

const json = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];
const future = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

const today = () => new Date().toISOString().slice(0, 10);
/** A local wall time (no offset) a few days ahead. */
const localSoon = () => new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 16);

const MIX: readonly Step[] = [
	{
		name: "GET /api/v1/events",
		weight: 25,
		ok: [200],
		run: ({ base, user }) => fetch(`${base}/api/v1/events?limit=20`, { headers: json(user.token) }),
	},
	{
		name: "POST /api/v1/events",
		weight: 10,
		ok: [201],
		run: async (ctx) => {
			const res = await fetch(`${ctx.base}/api/v1/events`, {
				method: "POST",
				headers: json(ctx.user.token),
				body: JSON.stringify({
					title: "mixed load",
					startsAt: future(10),
					endsAt: future(10.1),
					capacity: 5,
				}),
			});
			if (res.status === 201) {
				const { id } = (await res.clone().json()) as { id: string };
				ctx.user.events.push(id);
				if (ctx.shared.length < 1000) ctx.shared.push(id);
			}
			return res;
		},
	},
	{
		name: "GET /api/v1/events/:id",
		weight: 10,
		ok: [200],
		run: ({ base, user }) =>
			fetch(`${base}/api/v1/events/${pick(user.events)}`, { headers: json(user.token) }),
	},
	{
		name: "POST /api/v1/events/:id/participants",
		weight: 15,
		// Full events waitlist; a second registration for the same event is 409.
		ok: [201, 409],
		run: ({ base, user, shared }) =>
			fetch(`${base}/api/v1/events/${pick(shared)}/participants`, {
				method: "POST",
				headers: json(user.token),
			}),
	},
	{
		name: "GET /api/v1/registrations",
		weight: 10,
		ok: [200],
		run: ({ base, user }) => fetch(`${base}/api/v1/registrations?limit=20`, { headers: json(user.token) }),
	},
	{
		name: "GET /api/v1/notifications",
		weight: 15,
		ok: [200],
		run: ({ base, user }) => fetch(`${base}/api/v1/notifications?limit=20`, { headers: json(user.token) }),
	},
	{
		name: "POST /api/v1/contacts",
		weight: 3,
		ok: [201],
		run: async ({ base, user }) => {
			const res = await fetch(`${base}/api/v1/contacts`, {
				method: "POST",
				headers: json(user.token),
				body: JSON.stringify({ name: `Contact ${user.contacts.length}` }),
			});
			if (res.status === 201) user.contacts.push(((await res.clone().json()) as { id: string }).id);
			return res;
		},
	},
	{
		name: "POST /api/v1/transactions",
		weight: 8,
		ok: [201],
		run: ({ base, user }) =>
			fetch(`${base}/api/v1/transactions`, {
				method: "POST",
				headers: json(user.token),
				body: JSON.stringify({
					contactId: pick(user.contacts),
					kind: Math.random() < 0.5 ? "lent" : "borrowed",
					amountMinor: 100 + Math.floor(Math.random() * 10_000),
					currency: Math.random() < 0.8 ? "EUR" : "USD",
					occurredOn: today(),
				}),
			}),
	},
	{
		name: "GET /api/v1/balances",
		weight: 5,
		ok: [200],
		run: ({ base, user }) => fetch(`${base}/api/v1/balances`, { headers: json(user.token) }),
	},
	{
		name: "POST /api/v1/reminders",
		weight: 3,
		ok: [201],
		run: ({ base, user }) =>
			fetch(`${base}/api/v1/reminders`, {
				method: "POST",
				headers: json(user.token),
				body: JSON.stringify({ title: "mixed load", dueAt: localSoon(), timeZone: "Europe/Berlin" }),
			}),
	},
	{
		name: "GET /api/v1/reminders",
		weight: 4,
		ok: [200],
		run: ({ base, user }) => fetch(`${base}/api/v1/reminders?limit=20`, { headers: json(user.token) }),
	},
	{
		name: "GET /api/v1/users/me",
		weight: 15,
		ok: [200],
		run: ({ base, user }) => fetch(`${base}/api/v1/users/me`, { headers: json(user.token) }),
	},
];

function chooser(mix: readonly Step[]): () => Step {
	const total = mix.reduce((n, s) => n + s.weight, 0);
	return () => {
		let r = Math.random() * total;
		for (const s of mix) {
			r -= s.weight;
			if (r < 0) return s;
		}
		return mix.at(-1)!;
	};
}

const pct = (xs: number[], p: number) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

export async function runMixed(): Promise<void> {
	console.log("== mixed: many users, every domain's main routes, api + worker + bridge processes ==");
	let server: ApiUnderTest | undefined;
	try {
		server = await startApiOnEmbedded("mixed", {
			with: ["worker", "bridge"],
			env: { AUTH_LIMIT_PER_ADDRESS: "100000", AUTH_LIMIT_PER_ACCOUNT: "100000" },
		});
		const base = server.base;
		const people: User[] = await Promise.all(
			Array.from({ length: users }, async (_, i) => {
				const email = `mixed${i}@example.com`;
				const password = "mixed load password";
				const reg = await fetch(`${base}/api/v1/auth/register`, {
					method: "POST",
					headers: { "content-type": "application/json" },
					body: JSON.stringify({ email, password, displayName: `User ${i}` }),
				});
				if (reg.status !== 201) throw new Error(`register answered ${reg.status}`);
				const login = await fetch(`${base}/api/v1/auth/login`, {
					method: "POST",
					headers: { "content-type": "application/json" },
					body: JSON.stringify({ email, password }),
				});
				if (login.status !== 200) throw new Error(`login answered ${login.status}`);
				return {
					token: ((await login.json()) as { accessToken: string }).accessToken,
					events: [],
					contacts: [],
				};
			}),
		);
		// Every user starts with one event and one contact, so every route has something to act on.
		const shared: string[] = [];
		for (const user of people)
			for (const name of ["POST /api/v1/events", "POST /api/v1/contacts"]) {
				const res = await MIX.find((s) => s.name === name)!.run({ base, user, shared });
				if (res.status !== 201) throw new Error(`${name} answered ${res.status}: ${await res.text()}`);
			}
		const next = chooser(MIX);
		const stats = new Map(
			MIX.map((s) => [s.name, { latencies: [] as number[], errors: 0, statuses: new Map<number, number>() }]),
		);
		const deadline = performance.now() + seconds * 1000;
		const t0 = performance.now();
		await Promise.all(
			people.map(async (user) => {
				while (performance.now() < deadline) {
					const step = next();
					const st = stats.get(step.name)!;
					const s = performance.now();
					try {
						const res = await step.run({ base, user, shared });
						await res.arrayBuffer();
						st.latencies.push(performance.now() - s);
						st.statuses.set(res.status, (st.statuses.get(res.status) ?? 0) + 1);
						if (!step.ok.includes(res.status)) st.errors++;
					} catch {
						st.errors++;
					}
				}
			}),
		);
		const elapsed = (performance.now() - t0) / 1000;
		const total = [...stats.values()].reduce((n, s) => n + s.latencies.length, 0);
		const errors = [...stats.values()].reduce((n, s) => n + s.errors, 0);
		const all = [...stats.values()].flatMap((s) => s.latencies);
		const mixLine = MIX.map((s) => `${s.name} ${s.weight}`).join(", ");
		const lines = [
			`mixed load (${users} users, ${fmt(elapsed, 1)} s, closed loop without think time):`,
			`  mix (weights): ${mixLine}`,
			...MIX.map((s) => {
				const st = stats.get(s.name)!;
				const codes = [...st.statuses].map(([c, n]) => `${c}×${n}`).join(" ");
				return (
					`  ${s.name.padEnd(38)} ${String(st.latencies.length).padStart(7)} req ${fmt(st.latencies.length / elapsed).padStart(6)} req/s ` +
					`p50 ${pct(st.latencies, 50).toFixed(2).padStart(6)} ms p99 ${pct(st.latencies, 99).toFixed(2).padStart(7)} ms ` +
					`errors ${st.errors} [${codes}]`
				);
			}),
			`  total ${total} requests, ${fmt(total / elapsed)} req/s, p50 ${pct(all, 50).toFixed(2)} ms, p99 ${pct(all, 99).toFixed(2)} ms, ${errors} errors`,
			`  measured with: bun fetch, ${users} concurrent keep-alive users in the bench process; api, worker and bridge each a \`bun src/main.ts <role>\` process on embedded PostgreSQL + Temporal dev server + Redis gateway; ${machine()}`,
		];
		console.log(lines.join("\n"));
		await summary(lines);
	} finally {
		await server?.stop(5000);
		server?.removeDataDir();
	}
}

if (import.meta.main) await runMixed();
