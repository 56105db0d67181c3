/**
 * A trigger's definition and its compiled form: every CEL expression
 * type-checked (422 with the expression's field and the error's position),
 * the clauses' numbers checked, the action's template paths checked. The
 * compiled trigger is what the reducer runs, live, in dry-runs and backtests.
 */
import { Invalid } from "../errors.ts";
import { CelInvalid, type Compiled, compile } from "./cel.ts";
import { type Escape, TEMPLATE_MAX_BYTES, unknownPaths } from "./template.ts";

export interface EmaClause {
	/** CEL, numeric: the observation (a missing field = no observation). */
	value: string;
	/** Fixed smoothing factor in (0, 1]; or */
	alpha?: number;
	/** a half-life for irregular spacing: α = 1 − exp(−ln 2 · Δt / halfLife). */
	halfLifeSeconds?: number;
	/** The condition holds only from this many observations on (default 1). */
	minSamples?: number;
}

export interface CountClause {
	mode: "sliding" | "tumbling";
	windowSeconds: number;
	/** "reached" (default): fires when this many matching events are in the window; "below": see `when`. */
	threshold: number;
	/** Events whose occurredAt is this much older than the newest seen are counted as late (default 0). */
	allowedLatenessSeconds?: number;
	/**
	 * "reached" (default): an event that brings the window to `threshold` is a candidate fire.
	 * "below" (tumbling only): absence detection on a window-close timer (processing time, after the
	 * allowed lateness): fires once when a window [kW, (k+1)W) closes with fewer than `threshold`
	 * after one that reached it (also when it had no event at all). Rearmed by the next window that
	 * reaches it.
	 */
	when?: "reached" | "below";
}

export interface HoldClause {
	/** The signal must hold this long before the trigger fires (pending meanwhile). */
	forSeconds?: number;
	/** After the signal stops, stay firing this long before resolving. */
	keepFiringForSeconds?: number;
	/** CEL: when given, a firing trigger resolves only on an event where this is true. */
	resolve?: string;
}

export interface Clauses {
	ema?: EmaClause;
	count?: CountClause;
	hold?: HoldClause;
	/** At most one fire per key per this period; the next fire reports how many were suppressed. */
	cooldownSeconds?: number;
	/**
	 * Throttle of the action runs: at most `limit` runs start per `windowSeconds` for the trigger
	 * (effect's RateLimiter on Redis, through the delivery guard); later runs wait, none is dropped.
	 */
	rateLimit?: { limit: number; windowSeconds: number };
	/** Wait until no candidate came for `periodSeconds` (but never longer than `maxWaitSeconds`), then fire once with the latest. */
	debounce?: { periodSeconds: number; maxWaitSeconds?: number };
}

export type Action =
	| { kind: "webhook"; url: string; body?: unknown; secret?: string }
	| { kind: "telegram"; chatId: string; text: string }
	| { kind: "email"; to: string; subject: string; text: string }
	| {
			kind: "mcp";
			url: string;
			tool: string;
			arguments?: unknown;
			token?: string;
			/** Event data to render `arguments` with for the save-time check against the tool's input schema. */
			sampleData?: Record<string, unknown>;
	  };

export interface TriggerDefinition {
	name: string;
	eventTypes: string[];
	sourceIds?: string[];
	condition: string;
	key?: string | null;
	clauses?: Clauses;
	action: Action;
}

export interface CompiledTrigger {
	readonly id: string;
	readonly name: string;
	readonly version: number;
	readonly eventTypes: ReadonlySet<string>;
	readonly sourceIds: ReadonlySet<string>;
	readonly clauses: Clauses;
	readonly action: Action;
	readonly condition: Compiled;
	readonly key?: Compiled;
	readonly emaValue?: Compiled;
	readonly resolve?: Compiled;
}

const celField = (
	field: string,
	source: string,
	scope: Parameters<typeof compile>[1],
	want: Parameters<typeof compile>[2],
) => {
	try {
		return compile(source, scope, want);
	} catch (error) {
		if (error instanceof CelInvalid)
			throw new Invalid(`${field}: ${error.error.message}`, {
				field,
				code: error.error.code,
				position: { start: error.error.start, end: error.error.end },
			});
		throw error;
	}
};

const positive = (field: string, v: number | undefined, max = 31_536_000) => {
	if (v !== undefined && !(v > 0 && v <= max))
		throw new Invalid(`${field} must be in (0, ${max}]`, { field });
};

/**
 * The channel escaping of each action kind's templates: webhook and MCP
 * payloads are JSON (values keep their type; JSON encoding escapes), Telegram
 * is sent as plain text (no parse_mode: nothing to escape), and the email
 * sender escapes its HTML part itself. `html` is there for an HTML channel.
 */
export const escapeOf = (_action: Action): Escape => "none";

/** The action's template(s), for path checks and rendering. */
export function templateOf(action: Action): unknown {
	switch (action.kind) {
		case "webhook":
			return action.body ?? { trigger: "{{trigger}}", event: "{{event}}", fire: "{{fire}}" };
		case "telegram":
			return action.text;
		case "email":
			return { subject: action.subject, text: action.text };
		case "mcp":
			return action.arguments ?? {};
	}
}

/** Checks and compiles; `Invalid` (422) names the field and, for CEL, the position. */
export function compileTrigger(
	def: TriggerDefinition,
	identity: { id: string; version: number } = { id: "dry-run", version: 1 },
): CompiledTrigger {
	const clauses = def.clauses ?? {};
	const { ema, count, hold, debounce } = clauses;
	if (ema) {
		if ((ema.alpha === undefined) === (ema.halfLifeSeconds === undefined))
			throw new Invalid("clauses.ema needs exactly one of alpha or halfLifeSeconds", {
				field: "clauses.ema",
			});
		if (ema.alpha !== undefined && !(ema.alpha > 0 && ema.alpha <= 1))
			throw new Invalid("clauses.ema.alpha must be in (0, 1]", { field: "clauses.ema.alpha" });
		positive("clauses.ema.halfLifeSeconds", ema.halfLifeSeconds);
	}
	if (count) positive("clauses.count.windowSeconds", count.windowSeconds);
	if (count?.when === "below" && count.mode !== "tumbling")
		throw new Invalid("clauses.count.when below needs mode tumbling (windows that close at fixed times)", {
			field: "clauses.count.when",
		});
	if (count?.when === "below" && (hold || debounce))
		throw new Invalid(
			"clauses.count.when below fires on a timer: it cannot be combined with hold or debounce",
			{
				field: "clauses.count.when",
			},
		);
	positive("clauses.hold.forSeconds", hold?.forSeconds);
	positive("clauses.hold.keepFiringForSeconds", hold?.keepFiringForSeconds);
	positive("clauses.cooldownSeconds", clauses.cooldownSeconds);
	if (clauses.rateLimit) {
		positive("clauses.rateLimit.windowSeconds", clauses.rateLimit.windowSeconds, 86_400);
		if (!(Number.isInteger(clauses.rateLimit.limit) && clauses.rateLimit.limit >= 1))
			throw new Invalid("clauses.rateLimit.limit must be a positive integer", {
				field: "clauses.rateLimit.limit",
			});
	}
	if (debounce) {
		positive("clauses.debounce.periodSeconds", debounce.periodSeconds);
		positive("clauses.debounce.maxWaitSeconds", debounce.maxWaitSeconds);
		if (debounce.maxWaitSeconds !== undefined && debounce.maxWaitSeconds < debounce.periodSeconds)
			throw new Invalid("clauses.debounce.maxWaitSeconds must be at least periodSeconds", {
				field: "clauses.debounce.maxWaitSeconds",
			});
	}
	const template = templateOf(def.action);
	if (Buffer.byteLength(JSON.stringify(template) ?? "") > TEMPLATE_MAX_BYTES)
		throw new Invalid(`the action's template exceeds ${TEMPLATE_MAX_BYTES} bytes`, { field: "action" });
	const unknown = unknownPaths(template);
	if (unknown.length > 0)
		throw new Invalid(`unknown template path: ${unknown[0]}`, { field: "action", paths: unknown });
	const scope = { ema: ema !== undefined };
	return {
		id: identity.id,
		name: def.name,
		version: identity.version,
		eventTypes: new Set(def.eventTypes),
		sourceIds: new Set(def.sourceIds ?? []),
		clauses,
		action: def.action,
		condition: celField("condition", def.condition, scope, "bool"),
		key: def.key ? celField("key", def.key, {}, "key") : undefined,
		emaValue: ema ? celField("clauses.ema.value", ema.value, {}, "number") : undefined,
		resolve: hold?.resolve ? celField("clauses.hold.resolve", hold.resolve, scope, "bool") : undefined,
	};
}

/** Whether a stored change of `before` into `after` changes what decides a fire (state is reset). */
export function decidesDifferently(before: TriggerDefinition, after: TriggerDefinition): boolean {
	const pick = (d: TriggerDefinition) =>
		JSON.stringify([d.eventTypes, d.sourceIds ?? [], d.condition, d.key ?? null, d.clauses ?? {}]);
	return pick(before) !== pick(after);
}
