/**
 * The `processor` role: evaluates triggers over ingested events. Triggers
 * live in PARTITIONS partitions (by id hash); a processor holds a partition
 * with a session advisory lock on its own connection, so any number share
 * the work, each takes about its fair share, and a trigger's events (hence
 * each key's) are folded by one processor at a time, in seq (commit) order.
 *
 * A batch is one transaction: the checkpoint row is locked, the events after
 * it are folded with the states they touch, and the states, decisions, fires
 * and the new checkpoint are written together. A kill at any point loses
 * nothing and repeats nothing: the next holder starts from the committed
 * checkpoint and states. Timers (hold `for`, keep_firing_for, debounce) are
 * state (`due_at`); once a partition has caught up with the ingest horizon
 * they fire at their due time on the horizon's clock, after a restart too.
 */
import type { Sql } from "../infra/db/sql.ts";
import { createSessionConnection } from "../infra/db/sql.ts";
import type { Logger } from "../infra/log.ts";
import { compileTrigger } from "./definition.ts";
import {
	decisionCounts,
	Folder,
	type KnownStates,
	knownStates,
	type LiveTrigger,
	TriggerSet,
} from "./fold.ts";
import { countBatch, sampleProcessorLag } from "./metrics.ts";
import {
	dueStates,
	ensurePartitions,
	eventsAfter,
	type Horizon,
	loadStates,
	lockCheckpoint,
	readHorizon,
	writeBatch,
} from "./processor-store.ts";
import type { TriggerSettings } from "./settings.ts";
import { definitionOf, PARTITIONS, type TriggerRow, triggersOfPartitions } from "./triggers-repository.ts";

/** Advisory lock namespace of partitions ("HPRC"); the partition is the second key. */
const LOCK_NS = 0x48505243;
/** A batch reads at most this many times its size of seqs (see `batch`). */
const SCAN_WINDOW = 10;
/** Every live processor holds this one shared: how many there are (for the fair share). */
const MEMBER = 1_000_000;

export interface Processor {
	/** Partitions this processor holds now. */
	held(): number[];
	/** Runs one pass over the held partitions (tests; the loop does this by itself). */
	pass(): Promise<void>;
	stop(): Promise<void>;
}

export async function startProcessor(deps: {
	sql: Sql;
	log: Logger;
	settings: TriggerSettings;
	/** Default true: loop on wake-ups and the poll interval. */
	loop?: boolean;
}): Promise<Processor> {
	const { sql, log, settings } = deps;
	const held = new Set<number>();
	let wake: (() => void) | undefined;
	let woken = false;
	let member = false;
	const onWake = () => {
		woken = true;
		wake?.();
	};
	const session = createSessionConnection(sql, {
		applicationName: "herald-processor",
		onclose: () => {
			held.clear(); // the session's locks went with it
			member = false;
		},
	});
	await ensurePartitions(sql, PARTITIONS);
	await session.listen("new_event", onWake);
	const compiled = new Map<string, { stamp: string; trigger: LiveTrigger }>();
	/** Per partition, its trigger set as long as its triggers stay the same. */
	const sets = new Map<number, { stamp: string; set: TriggerSet }>();
	const setOf = (partition: number, triggers: LiveTrigger[]): TriggerSet => {
		const stamp = triggers.map((t) => `${t.compiled.id}:${t.compiled.version}`).join(",");
		const cached = sets.get(partition);
		if (cached?.stamp === stamp && cached.set.triggers.every((t, i) => t === triggers[i])) return cached.set;
		const set = new TriggerSet(triggers);
		sets.set(partition, { stamp, set });
		return set;
	};

	const claim = async () => {
		if (!member) {
			await session`select pg_advisory_lock_shared(${LOCK_NS}, ${MEMBER})`;
			member = true;
		}
		const [row] = await session<{ n: number }[]>`
			select count(distinct pid)::int as n from pg_locks
			where locktype = 'advisory' and classid = ${LOCK_NS} and objid = ${MEMBER} and objsubid = 2 and granted`;
		const share = Math.ceil(PARTITIONS / Math.max(1, row!.n));
		for (const p of [...held].sort((a, b) => b - a)) {
			if (held.size <= share) break;
			await session`select pg_advisory_unlock(${LOCK_NS}, ${p})`;
			held.delete(p);
		}
		const start = Math.floor(Math.random() * PARTITIONS);
		for (let i = 0; i < PARTITIONS && held.size < share; i++) {
			const p = (start + i) % PARTITIONS;
			if (held.has(p)) continue;
			const [got] = await session<{ ok: boolean }[]>`select pg_try_advisory_lock(${LOCK_NS}, ${p}) as ok`;
			if (got!.ok) held.add(p);
		}
	};

	const live = (rows: TriggerRow[]): LiveTrigger[] =>
		rows.flatMap((r) => {
			const stamp = `${r.version}:${r.updated_at.getTime()}`;
			const cached = compiled.get(r.id);
			if (cached?.stamp === stamp) return [cached.trigger];
			try {
				const trigger = {
					compiled: compileTrigger(definitionOf(r), { id: r.id, version: r.version }),
					ownerId: r.owner_id,
					createdAt: r.created_at.getTime(),
				};
				compiled.set(r.id, { stamp, trigger });
				return [trigger];
			} catch (error) {
				log.warn("trigger does not compile, skipped", { triggerId: r.id, error: String(error) });
				return [];
			}
		});

	/** One batch of one partition; true when it has caught up with the horizon. */
	const batch = async (partition: number, horizon: Horizon): Promise<boolean> => {
		const triggers = live(await triggersOfPartitions(sql, [partition]));
		const set = setOf(partition, triggers);
		const started = performance.now();
		let counted: (() => void) | undefined;
		const caughtUp = await sql.begin(async (tx) => {
			const checkpoint = await lockCheckpoint(tx, partition);
			const owners = [...new Set(triggers.map((t) => t.ownerId))];
			const types = [...new Set(triggers.flatMap((t) => [...t.compiled.eventTypes]))];
			// A batch reads at most SCAN_WINDOW × its size of seqs: the events of several (owner, type)
			// pairs come from as many index ranges, merged and sorted, so an unbounded read would sort
			// the whole backlog for every batch of it.
			const upTo = Math.min(horizon.maxSeq, checkpoint.lastSeq + SCAN_WINDOW * settings.processorBatchSize);
			const events =
				triggers.length === 0 || checkpoint.lastSeq >= horizon.maxSeq
					? []
					: await eventsAfter(tx, {
							afterSeq: checkpoint.lastSeq,
							maxSeq: upTo,
							owners,
							types,
							limit: settings.processorBatchSize,
						});
			const full = events.length === settings.processorBatchSize;
			const caughtUp = !full && (triggers.length === 0 || upTo >= horizon.maxSeq);
			const known: KnownStates = new Map();
			const folder = new Folder(set, known, settings.conditionDeadlineMs);
			knownStates(await loadStates(tx, folder.prepare(events)), known);
			folder.events(events);
			if (caughtUp)
				folder.tick(
					horizon.now,
					await dueStates(
						tx,
						triggers.map((t) => t.compiled.id),
						horizon.now,
					),
				);
			const lastSeq = caughtUp
				? Math.max(checkpoint.lastSeq, horizon.maxSeq)
				: full
					? events.at(-1)!.seq
					: upTo; // everything up to the window's end is read
			const clock = caughtUp ? horizon.now : (events.at(-1)?.receivedAt ?? checkpoint.clock ?? 0);
			const result = folder.result;
			const { states, decisions, quiet, fires } = result;
			// An idle pass (nothing folded, nothing due, no new seq) writes nothing.
			const idle =
				events.length === 0 &&
				states.length === 0 &&
				decisions.length === 0 &&
				quiet.length === 0 &&
				lastSeq === checkpoint.lastSeq;
			if (!idle)
				await writeBatch(tx, {
					states,
					decisions,
					quiet,
					fires,
					checkpoint: { partition, lastSeq, clock: Math.max(clock, checkpoint.clock ?? 0) },
				});
			if (fires.length > 0) log.debug("trigger fires", { partition, fires: fires.length });
			counted = () =>
				countBatch(decisionCounts(result), fires.length, events.length, (performance.now() - started) / 1000);
			return caughtUp;
		});
		counted?.(); // after the commit: a rolled-back (retried) batch counts nothing
		return caughtUp;
	};

	const pass = async () => {
		await claim();
		if (held.size === 0) return;
		const horizon = await readHorizon(sql);
		for (const p of [...held]) {
			while (held.has(p) && !(await batch(p, horizon))) {}
		}
	};

	let stopped = false;
	const running =
		deps.loop === false
			? Promise.resolve()
			: (async () => {
					while (!stopped) {
						woken = false;
						try {
							await pass();
						} catch (error) {
							if (!stopped) log.warn("processor pass failed", { error: String(error) });
						}
						if (stopped) break;
						if (woken) continue;
						await new Promise<void>((resolve) => {
							const timer = setTimeout(resolve, settings.processorPollMs);
							wake = () => {
								clearTimeout(timer);
								resolve();
							};
						});
						wake = undefined;
					}
				})();
	const unsample = sampleProcessorLag(sql);
	log.info("processor running", { partitions: PARTITIONS });
	return {
		held: () => [...held].sort((a, b) => a - b),
		pass,
		async stop() {
			stopped = true;
			unsample();
			onWake();
			await running;
			await session.end({ timeout: 2 }).catch(() => {});
			held.clear();
		},
	};
}
