/**
 * Backtest: the trigger's current definition over its owner's stored events
 * received in [from, to), from empty state, through the same fold as the
 * processor, on a virtual clock (each event's receivedAt; timers up to
 * `to`, or now if earlier). Over the events the live path saw (from the
 * trigger's creation), it decides what the live path decided.
 */
import { Invalid, NotFound } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import { compileTrigger } from "./definition.ts";
import { decisionCounts, Folder } from "./fold.ts";
import { eventsBetween } from "./processor-store.ts";
import type { TriggerSettings } from "./settings.ts";
import { definitionOf, findTrigger } from "./triggers-repository.ts";

export const BACKTEST_MAX_EVENTS = 100_000;
const SUPPRESSIONS = new Set(["cooldown", "debounced", "late", "action_failed"]);

export function createBacktestService(deps: { sql: Sql; settings: TriggerSettings }) {
	const { sql, settings } = deps;
	return {
		async run(owner: string, id: string, body: { from: string; to: string }) {
			const row = await findTrigger(sql, owner, id);
			if (!row) throw new NotFound("trigger");
			const from = new Date(body.from);
			const to = new Date(body.to);
			if (!(from.getTime() < to.getTime()))
				throw new Invalid("`from` must be before `to`", { field: "from" });
			const compiled = compileTrigger(definitionOf(row), { id: row.id, version: row.version });
			const events = await eventsBetween(sql, {
				owner,
				types: [...compiled.eventTypes],
				from,
				to,
				limit: BACKTEST_MAX_EVENTS + 1,
			});
			const truncated = events.length > BACKTEST_MAX_EVENTS;
			if (truncated) events.length = BACKTEST_MAX_EVENTS;
			// Every event in the range is heard, whenever the trigger was created.
			const folder = new Folder(
				[{ compiled, ownerId: owner, createdAt: Number.NEGATIVE_INFINITY }],
				new Map(),
				settings.conditionDeadlineMs,
			);
			folder.events(events);
			folder.tick(Math.min(to.getTime(), Date.now()), []);
			const result = folder.result;
			const { decisions, fires } = result;
			const counts = Object.fromEntries(decisionCounts(result));
			return {
				events: events.length,
				truncated,
				decisions: counts,
				fires: fires.map(({ key, decision }) => ({
					fireKey: decision.fire!.fireKey,
					at: new Date(decision.at).toISOString(),
					key,
					eventSeq: decision.eventSeq,
					suppressed: decision.fire!.suppressed,
					payload: decision.fire!.payload,
				})),
				suppressions: decisions
					.filter((d) => SUPPRESSIONS.has(d.decision.kind))
					.slice(0, 1000)
					.map(({ key, decision }) => ({
						decision: decision.kind,
						at: new Date(decision.at).toISOString(),
						key,
						eventSeq: decision.eventSeq,
						reason: decision.reason,
					})),
			};
		},
	};
}

export type BacktestService = ReturnType<typeof createBacktestService>;
