/**
 * Matching and state folding, pure CPU in this process (no I/O): 10,000
 * triggers, 20 per event type (500 types), each with its own CEL condition
 * and a cooldown or a sliding count window, keyed per agent (50 agents);
 * events of random types go through the processor's own fold (`Folder`:
 * prefilter by owner and type, key, matcher or cel-js, reducer, decisions),
 * in batches of 1,000 whose states carry over as the processor's would.
 *
 * Two condition sets: `data.score < k && data.agent != "x<i>"` (the shape the
 * plain-JS matcher answers) and `data.score * 1.0 < k.0 && …` (arithmetic: the
 * matcher cannot answer, cel-js evaluates every one). Baseline from the same
 * run: the same conditions evaluated in cel-js alone, nothing else (the floor
 * of matching with cel-js). Figures are per CPU-second of this process
 * (`process.cpuUsage`), so a shared machine's other work does not count.
 */
import { compile } from "../src/triggers/cel.ts";
import { compileTrigger } from "../src/triggers/definition.ts";
import {
	decisionCounts,
	Folder,
	type KnownStates,
	type LiveTrigger,
	TriggerSet,
} from "../src/triggers/fold.ts";
import { eventVars } from "../src/triggers/key-state.ts";
import type { OwnedEvent } from "../src/triggers/processor-store.ts";
import { fmt, knob, machine, summary } from "./lib/proc.ts";

const TRIGGERS = knob("BENCH_TRIGGERS", 10_000);
const PER_TYPE = 20;
const EVENTS = knob("BENCH_EVENTS", 100_000);
const BATCH = 1000;
const owner = "00000000-0000-4000-8000-000000000001";
const types = Math.ceil(TRIGGERS / PER_TYPE);

let rng = 1;
const next = () => {
	rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
	return rng >>> 8;
};
const t0 = Date.UTC(2030, 0, 1);
const events: OwnedEvent[] = Array.from({ length: EVENTS }, (_, i) => ({
	id: `e${i}`,
	seq: i + 1,
	type: `type.${next() % types}`,
	source: "s",
	ownerId: owner,
	externalId: `x${i}`,
	occurredAt: t0 + i,
	receivedAt: t0 + i,
	data: { score: next() % 100, agent: `a${next() % 50}` },
}));

/** CPU seconds of this process (user + system): what one core spends, whatever else runs. */
const cpu = () => {
	const u = process.cpuUsage();
	return (u.user + u.system) / 1e6;
};

function measure(condition: (i: number) => string) {
	const triggers: LiveTrigger[] = Array.from({ length: TRIGGERS }, (_, i) => ({
		compiled: compileTrigger(
			{
				name: `t${i}`,
				eventTypes: [`type.${Math.floor(i / PER_TYPE)}`],
				condition: condition(i),
				key: "data.agent",
				clauses:
					i % 2 ? { cooldownSeconds: 60 } : { count: { mode: "sliding", windowSeconds: 30, threshold: 3 } },
				action: { kind: "webhook", url: "https://example.com/h", body: { s: "{{data.score}}" } },
			},
			{ id: `trigger-${i}`, version: 1 },
		),
		ownerId: owner,
		createdAt: 0,
	}));
	// The processor builds its trigger set once, while its triggers stay the same.
	const set = new TriggerSet(triggers);

	const bare = new Map(
		triggers.map((t) => [
			t.compiled.id,
			compile(t.compiled.condition.source, {}, "bool", { matcher: false }),
		]),
	);
	const baseline = (list: OwnedEvent[]) => {
		let trues = 0;
		for (const e of list) {
			const vars = eventVars(e);
			for (const t of set.byRoute.get(`${owner}\u0000${e.type}`) ?? [])
				if (bare.get(t.compiled.id)!.evaluate(vars, 1000).ok) trues++;
		}
		return trues;
	};
	const foldAll = (list: OwnedEvent[]) => {
		const known: KnownStates = new Map();
		let decisions = 0;
		let fires = 0;
		for (let i = 0; i < list.length; i += BATCH) {
			// The folder updates `known` in place: the states the next batch would load.
			const folder = new Folder(set, known, 1000);
			folder.events(list.slice(i, i + BATCH));
			const result = folder.result;
			for (const n of decisionCounts(result).values()) decisions += n;
			fires += result.fires.length;
		}
		let states = 0;
		for (const keys of known.values()) states += keys.size;
		return { decisions, fires, states };
	};
	baseline(events.slice(0, 5000));
	foldAll(events.slice(0, 5000));
	let started = cpu();
	baseline(events);
	const bareSeconds = cpu() - started;
	started = cpu();
	const wall = performance.now();
	const r = foldAll(events);
	const foldSeconds = cpu() - started;
	const wallSeconds = (performance.now() - wall) / 1000;
	return { ...r, fold: EVENTS / foldSeconds, wall: EVENTS / wallSeconds, bare: EVENTS / bareSeconds };
}

const matched = measure((i) => `data.score < ${(i % 10) + 1} && data.agent != "x${i}"`);
const arithmetic = measure((i) => `data.score * 1.0 < ${(i % 10) + 1}.0 && data.agent != "x${i}"`);
const line = (name: string, m: typeof matched) =>
	`  ${name}: fold ${fmt(m.fold)} events per CPU-second (${fmt(m.wall)}/s wall); baseline, the same conditions in cel-js alone: ${fmt(m.bare)} events per CPU-second ` +
	`(${m.decisions} decisions, ${m.fires} fires, ${m.states} key states)`;
const lines = [
	`triggers-fold (${EVENTS} events × ${PER_TYPE} matching triggers of ${TRIGGERS}, batches of ${BATCH}):`,
	line("field comparisons (the matcher answers)", matched),
	line("arithmetic (cel-js evaluates every condition)", arithmetic),
	`  goal ≥ 50,000 events/s per core: ${matched.fold >= 50_000 ? "MET" : "NOT MET"} for field comparisons, ${arithmetic.fold >= 50_000 ? "MET" : "NOT MET"} for arithmetic`,
	`  measured with: bun bench/triggers-fold.ts (BENCH_TRIGGERS, BENCH_EVENTS), one process, no I/O, CPU time of this process; ${machine()}`,
];
console.log(lines.join("\n"));
await summary(lines);
