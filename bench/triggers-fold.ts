/**
 * Matching and state folding, pure CPU in this process (no I/O): 10,000
 * triggers, 20 per event type (500 types), each with a CEL condition and a
 * cooldown or a count window, keyed per agent; events of random types go
 * through the processor's own fold (`Folder`: prefilter by type, key, reducer,
 * decisions). Baseline from the same run: one bare cel-js evaluation of the
 * same kind of condition, the floor of matching 20 triggers per event.
 */
import { compileTrigger } from "../src/triggers/definition.ts";
import { Folder, type KnownStates, type LiveTrigger, TriggerSet } from "../src/triggers/fold.ts";
import type { OwnedEvent } from "../src/triggers/processor-store.ts";
import { fmt, knob, machine, summary } from "./lib/proc.ts";

const TRIGGERS = knob("BENCH_TRIGGERS", 10_000);
const PER_TYPE = 20;
const EVENTS = knob("BENCH_EVENTS", 100_000);
const owner = "00000000-0000-4000-8000-000000000001";

const triggers: LiveTrigger[] = Array.from({ length: TRIGGERS }, (_, i) => ({
	compiled: compileTrigger(
		{
			name: `t${i}`,
			eventTypes: [`type.${Math.floor(i / PER_TYPE)}`],
			condition: `data.score < ${(i % 10) + 1} && data.agent != "x${i}"`,
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

// Baseline: the bare condition, as often as the fold evaluates conditions.
const bare = triggers[0]!.compiled.condition;
const vars = {
	data: events[0]!.data,
	event: { type: "t", source: "s", externalId: "x", occurredAt: new Date(t0), data: events[0]!.data },
};
for (let i = 0; i < 20_000; i++) bare.evaluate(vars, 1000);
const evals = EVENTS * PER_TYPE;
/** CPU seconds of this process (user + system): on a shared machine, what one core spends. */
const cpu = () => {
	const u = process.cpuUsage();
	return (u.user + u.system) / 1e6;
};
let started = cpu();
for (let i = 0; i < evals; i++) bare.evaluate(vars, 1000);
const bareSeconds = cpu() - started;

// The fold in batches of 1,000, as the processor folds them: each batch starts from the states
// the previous one left (the processor loads them from PostgreSQL) and its decisions are dropped
// after it (the processor writes them).
const BATCH = 1000;
// The processor builds its trigger set once, while its triggers stay the same.
const set = new TriggerSet(triggers);
function foldAll(list: OwnedEvent[]) {
	const known: KnownStates = new Map();
	let decisions = 0;
	let fires = 0;
	for (let i = 0; i < list.length; i += BATCH) {
		const folder = new Folder(set, known, 1000);
		folder.events(list.slice(i, i + BATCH));
		const result = folder.result;
		decisions += result.decisions.length;
		fires += result.fires.length;
		// The folder updated `known` in place: the states the next batch would load.
	}
	let states = 0;
	for (const keys of known.values()) states += keys.size;
	return { decisions, fires, states };
}
foldAll(events.slice(0, 5000)); // warm-up
started = cpu();
const wallStarted = performance.now();
const measured = foldAll(events);
const foldSeconds = cpu() - started;
const wallSeconds = (performance.now() - wallStarted) / 1000;
const { fires, decisions } = measured;

const lines = [
	"triggers-fold:",
	`  fold: ${fmt(EVENTS / foldSeconds)} events per CPU-second (${fmt(EVENTS / wallSeconds)}/s wall; ${EVENTS} events × ${PER_TYPE} matching triggers of ${TRIGGERS}; ` +
		`${decisions} decisions, ${fires} fires, ${measured.states} key states; batches of ${BATCH})`,
	`  baseline, bare cel-js condition: ${fmt(evals / bareSeconds)} evaluations/s = ${fmt(evals / bareSeconds / PER_TYPE)} events/s at ${PER_TYPE} conditions per event`,
	`  goal ≥ 50,000 events/s per core: ${EVENTS / foldSeconds >= 50_000 ? "MET" : "NOT MET"}`,
	`  measured with: bun bench/triggers-fold.ts (BENCH_TRIGGERS, BENCH_EVENTS), one process, no I/O; the machine is shared with other work; ${machine()}`,
];
console.log(lines.join("\n"));
await summary(lines);
