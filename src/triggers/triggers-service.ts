/**
 * Triggers: CRUD (owner-scoped; another user's trigger is 404), the
 * save-time checks (every CEL expression type-checked, template paths,
 * sources the owner's), the version bump that resets state, the dry-run (the
 * reducer from empty state, no side effects) and the recorded decisions.
 */
import { randomBytes } from "node:crypto";
import { Conflict, Invalid, NotFound } from "../errors.ts";
import type { Sql } from "../infra/db/sql.ts";
import { compileTrigger, decidesDifferently, type TriggerDefinition } from "./definition.ts";
import { checkMcpTool, type McpSettings } from "./mcp.ts";
import type { DecisionView, DryRunBody, TriggerBody, UpdateTriggerBody } from "./model.ts";
import { type Decision, type EventSnapshot, type KeyState, reduce } from "./reducer.ts";
import { keyOf, passesPrefilter } from "./routing.ts";
import { listRuns } from "./runs-repository.ts";
import type { TriggerSettings } from "./settings.ts";
import {
	countTriggers,
	definitionOf,
	deleteTrigger,
	findTrigger,
	insertTrigger,
	listTriggers,
	ownedSources,
	type TriggerRow,
	toTriggerView,
	updateTrigger,
} from "./triggers-repository.ts";

export const decisionView = (d: Decision, key: string): DecisionView => ({
	decision: d.kind,
	at: new Date(d.at).toISOString(),
	eventSeq: d.eventSeq,
	key,
	reason: d.reason,
	...(d.fire ? { fireKey: d.fire.fireKey, payload: d.fire.payload } : {}),
});

/** Renders an MCP action's arguments for a sample fire of `def`, as the reducer would. */
function sampleArguments(def: TriggerDefinition, data: Record<string, unknown>): unknown {
	const trigger = compileTrigger({ ...def, condition: "true", clauses: {} }, { id: "sample", version: 1 });
	const now = Date.now();
	const event = {
		id: "sample",
		seq: 1,
		type: def.eventTypes[0]!,
		source: "sample",
		externalId: "sample",
		occurredAt: now,
		receivedAt: now,
		data,
	};
	const step = reduce(trigger, "", undefined, { kind: "event", event }, now, 1000);
	return step.decisions.find((d) => d.kind === "fire")?.fire?.payload;
}

export function createTriggerService(deps: { sql: Sql; settings: TriggerSettings; mcp?: McpSettings }) {
	const { sql, settings } = deps;
	/** The save-time MCP check: the tool exists and the sample arguments fit its input schema. */
	const checkMcp = async (def: TriggerDefinition) => {
		if (def.action.kind !== "mcp" || !deps.mcp) return;
		const { url, token, tool, sampleData } = def.action;
		let problem: string | undefined;
		try {
			problem = await checkMcpTool({ url, token }, tool, sampleArguments(def, sampleData ?? {}), {
				...deps.mcp,
				timeoutMs: Math.min(deps.mcp.timeoutMs, 5000),
			});
		} catch (error) {
			problem = `the MCP server could not be used: ${error instanceof Error ? error.message : String(error)}`;
		}
		if (problem) throw new Invalid(problem, { field: "action" });
	};
	const checkSources = async (owner: string, ids: readonly string[] | undefined) => {
		const unique = [...new Set(ids ?? [])];
		if ((await ownedSources(sql, owner, unique)) !== unique.length)
			throw new Invalid("sourceIds: every source must be one of yours", { field: "sourceIds" });
	};
	const found = <T>(row: T | undefined): T => {
		if (!row) throw new NotFound("trigger");
		return row;
	};
	return {
		async create(owner: string, body: TriggerBody) {
			const { enabled, ...def } = body;
			compileTrigger(def);
			await checkMcp(def);
			let webhookSecret: string | undefined;
			if (def.action.kind === "webhook" && !def.action.secret) {
				webhookSecret = `whsec_${randomBytes(24).toString("base64url")}`;
				def.action = { ...def.action, secret: webhookSecret };
			}
			await checkSources(owner, def.sourceIds);
			// The count and the insert under one per-owner lock: two creates at the limit cannot both pass.
			const row = await sql.begin(async (tx) => {
				await tx`select herald_order_lock(${`triggers:${owner}`})`;
				if ((await countTriggers(tx, owner)) >= settings.maxTriggersPerUser)
					throw new Conflict(`at most ${settings.maxTriggersPerUser} triggers per user`);
				return insertTrigger(tx, owner, def, enabled ?? true);
			});
			const view = toTriggerView(row);
			return webhookSecret ? { ...view, webhookSecret } : view;
		},
		async list(owner: string, q: { limit?: number; offset?: number }) {
			const { rows, total } = await listTriggers(sql, owner, q.limit ?? 20, q.offset ?? 0);
			return { items: rows.map(toTriggerView), total };
		},
		get: async (owner: string, id: string) => toTriggerView(found(await findTrigger(sql, owner, id))),
		async update(owner: string, id: string, body: UpdateTriggerBody) {
			const { enabled, ...changes } = body;
			const merge = (row: TriggerRow): TriggerDefinition => {
				const before = definitionOf(row);
				const after: TriggerDefinition = { ...before, ...changes };
				// An MCP token or a webhook secret is kept unless the change names a new one.
				if (
					after.action.kind === "mcp" &&
					before.action.kind === "mcp" &&
					!after.action.token &&
					before.action.token
				)
					after.action = { ...after.action, token: before.action.token };
				if (after.action.kind === "webhook" && before.action.kind === "webhook" && !after.action.secret)
					after.action = { ...after.action, secret: before.action.secret };
				compileTrigger(after);
				return after;
			};
			// The MCP server is asked before the transaction: no row lock is held across a network call.
			if (changes.action?.kind === "mcp") await checkMcp(merge(found(await findTrigger(sql, owner, id))));
			return sql.begin(async (tx) => {
				const row = found(await findTrigger(tx, owner, id, true));
				const after = merge(row);
				await checkSources(owner, after.sourceIds);
				const bump = decidesDifferently(definitionOf(row), after);
				return toTriggerView(await updateTrigger(tx, id, after, enabled ?? row.enabled, bump));
			});
		},
		async runs(owner: string, id: string, q: { limit?: number; offset?: number }) {
			found(await findTrigger(sql, owner, id));
			const rows = await listRuns(sql, id, q.limit ?? 20, q.offset ?? 0);
			return {
				items: rows.map((r) => ({
					fireKey: r.fire_key,
					firedAt: r.fired_at.toISOString(),
					key: r.key,
					suppressed: r.suppressed,
					payload: r.payload,
					status: r.status ?? "pending",
					error: r.error,
					startedAt: r.started_at?.toISOString() ?? null,
					finishedAt: r.finished_at?.toISOString() ?? null,
					attempts: r.attempts,
				})),
			};
		},
		async remove(owner: string, id: string) {
			if (!(await deleteTrigger(sql, owner, id))) throw new NotFound("trigger");
		},
		/** The reducer over `events` from empty state, with the live path's ordering; writes nothing. */
		dryRun(body: DryRunBody) {
			const { enabled: _enabled, ...def } = body.trigger;
			const trigger = compileTrigger(def);
			const states = new Map<string, KeyState>();
			const decisions: DecisionView[] = [];
			const wall = Date.now();
			body.events.forEach((input, i) => {
				const receivedAt = input.receivedAt ? Date.parse(input.receivedAt) : wall;
				const event: EventSnapshot = {
					id: `dry-run-${i}`,
					seq: i + 1,
					type: input.type,
					source: input.sourceId ?? "dry-run",
					externalId: input.externalId ?? `dry-run-${i}`,
					occurredAt: input.occurredAt ? Date.parse(input.occurredAt) : receivedAt,
					receivedAt,
					data: input.data,
				};
				if (!passesPrefilter(trigger, event)) {
					decisions.push({
						decision: "prefilter_miss",
						at: new Date(receivedAt).toISOString(),
						eventSeq: event.seq,
						key: "",
						reason: { type: event.type, eventTypes: [...trigger.eventTypes] },
					});
					return;
				}
				const key = keyOf(trigger, event, settings.conditionDeadlineMs);
				if (!key.ok) {
					decisions.push(decisionView(key.decision, ""));
					return;
				}
				const step = reduce(
					trigger,
					key.key,
					states.get(key.key),
					{ kind: "event", event },
					receivedAt,
					settings.conditionDeadlineMs,
				);
				if (step.state) states.set(key.key, step.state);
				for (const d of step.decisions) decisions.push(decisionView(d, key.key));
			});
			return { decisions, fires: decisions.filter((d) => d.decision === "fire").length };
		},
	};
}

export type TriggerService = ReturnType<typeof createTriggerService>;
