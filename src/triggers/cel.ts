/**
 * The one interface to CEL (`@marcbachmann/cel-js`, dependency-free): compile
 * an expression once against the variables a trigger offers (type-checked,
 * with the position of the first error), evaluate it under a deadline.
 * `matches()` runs on RE2 (re2js, linear time: patches/@marcbachmann+cel-js).
 * Evaluation is synchronous and bounded by the size limits checked here; the
 * deadline is checked when it returns (an overrun is a `condition_error`).
 */
import { Environment } from "@marcbachmann/cel-js";

export const CEL_LIMITS = {
	/** Characters of one expression. */
	maxLength: 2000,
	maxAstNodes: 300,
	maxDepth: 24,
	maxListElements: 100,
	maxMapEntries: 100,
	maxCallArguments: 8,
} as const;

/** What an expression may read, by the trigger's clauses. */
export interface CelScope {
	/** `ema`, `ema_prev` (doubles) and `ema_samples` (int). */
	ema?: boolean;
	/** `count` (int): events in the count window, this one included. */
	count?: boolean;
}

export interface CelError {
	readonly code: string;
	readonly message: string;
	/** Offsets into the expression: [start, end). */
	readonly start: number;
	readonly end: number;
}

export class CelInvalid extends Error {
	override readonly name = "CelInvalid";
	constructor(readonly error: CelError) {
		super(error.message);
	}
}

export type EvalResult =
	| { ok: true; value: unknown }
	| { ok: false; missing: true; message: string }
	| { ok: false; missing: false; code: string; message: string };

export interface Compiled {
	readonly source: string;
	/** The checked result type: bool, double, int, string, dyn… */
	readonly type: string;
	/** The source text of each top-level operand of && / || (for explanations). */
	readonly operands: readonly { text: string; run: (vars: Record<string, unknown>) => unknown }[];
	evaluate(vars: Record<string, unknown>, deadlineMs: number): EvalResult;
	/** The plain-JS matcher `evaluate` asks first, when the condition has a shape it answers. */
	readonly matcher?: (data: unknown) => boolean | undefined;
}

const EVENT_SCHEMA = {
	type: "string",
	source: "string",
	externalId: "string",
	occurredAt: "google.protobuf.Timestamp",
	data: "map",
} as const;

const environments = new Map<string, Environment>();
const WARM_UP = {
	event: { type: "", source: "", externalId: "", occurredAt: new Date(0), data: {} },
	data: {},
	ema: 0,
	ema_prev: 0,
	ema_samples: 0n,
};

function environment(scope: CelScope): Environment {
	const id = `${scope.ema ? "e" : ""}${scope.count ? "c" : ""}`;
	let env = environments.get(id);
	if (!env) {
		env = new Environment({
			limits: {
				maxAstNodes: CEL_LIMITS.maxAstNodes,
				maxDepth: CEL_LIMITS.maxDepth,
				maxListElements: CEL_LIMITS.maxListElements,
				maxMapEntries: CEL_LIMITS.maxMapEntries,
				maxCallArguments: CEL_LIMITS.maxCallArguments,
			},
		})
			.registerVariable("event", { schema: EVENT_SCHEMA })
			.registerVariable("data", "map");
		if (scope.ema)
			env
				.registerVariable("ema", "double")
				.registerVariable("ema_prev", "double")
				.registerVariable("ema_samples", "int");
		if (scope.count) env.registerVariable("count", "int");
		environments.set(id, env);
	}
	return env;
}

const errorOf = (error: unknown, fallbackEnd: number): CelError => {
	const e = error as {
		code?: string;
		message?: string;
		summary?: string;
		range?: { start: number; end: number };
	};
	const message = (e.summary ?? e.message ?? String(error)).split("\n")[0]!;
	return {
		code: e.code ?? "invalid_expression",
		message,
		start: e.range?.start ?? 0,
		end: e.range?.end ?? fallbackEnd,
	};
};

/**
 * Parses and type-checks; `want` is the type the result must have (e.g.
 * "bool" for a condition; "number" accepts int, uint and double). Throws
 * CelInvalid with the position of the error.
 */
export function compile(
	source: string,
	scope: CelScope,
	want?: "bool" | "number" | "key",
	/** false: always evaluate in cel-js (the matcher's differential test, the bench's baseline). */
	options: { matcher?: boolean } = {},
): Compiled {
	if (source.length > CEL_LIMITS.maxLength)
		throw new CelInvalid({
			code: "expression_too_long",
			message: `expression longer than ${CEL_LIMITS.maxLength} characters`,
			start: CEL_LIMITS.maxLength,
			end: source.length,
		});
	const env = environment(scope);
	let parsed: ReturnType<Environment["parse"]>;
	try {
		parsed = env.parse(source);
	} catch (error) {
		throw new CelInvalid(errorOf(error, source.length));
	}
	const checked = parsed.check();
	if (!checked.valid) throw new CelInvalid(errorOf(checked.error, source.length));
	const type = checked.type ?? "dyn";
	const fits =
		want === undefined ||
		type === "dyn" ||
		(want === "bool" && type === "bool") ||
		(want === "number" && ["int", "uint", "double"].includes(type)) ||
		(want === "key" && ["string", "int", "uint", "bool", "double"].includes(type));
	if (!fits)
		throw new CelInvalid({
			code: "wrong_type",
			message: `the expression is ${type}; expected ${want === "key" ? "a string or number" : want}`,
			start: 0,
			end: source.length,
		});
	const quick = want === "bool" && options.matcher !== false ? quickMatcher(parsed.ast as Ast) : undefined;
	const evaluate = (vars: Record<string, unknown>, deadlineMs: number): EvalResult => {
		if (quick) {
			const verdict = quick(vars.data);
			if (verdict !== undefined) return verdict ? TRUE : FALSE;
		}
		const started = performance.now();
		let value: unknown;
		try {
			value = parsed(vars);
		} catch (error) {
			const e = errorOf(error, source.length);
			if (e.code === "no_such_key") return { ok: false, missing: true, message: e.message };
			return { ok: false, missing: false, code: e.code, message: e.message };
		}
		const took = performance.now() - started;
		if (took > deadlineMs)
			return {
				ok: false,
				missing: false,
				code: "deadline_exceeded",
				message: `evaluation took ${took.toFixed(1)} ms (deadline ${deadlineMs} ms)`,
			};
		if (want === "bool") {
			if (value === true) return TRUE;
			if (value === false) return FALSE;
			return { ok: false, missing: false, code: "wrong_type", message: `evaluated to ${typeof value}` };
		}
		return { ok: true, value };
	};
	// One throw-away evaluation: the first run of a fresh expression is the slow one (JIT), and
	// the deadline is meant for expressions that are slow, not for cold code.
	try {
		parsed(WARM_UP);
	} catch {}
	return { source, type, operands: operandsOf(env, parsed.ast, source), evaluate, matcher: quick };
}

const TRUE: EvalResult = Object.freeze({ ok: true, value: true });
const FALSE: EvalResult = Object.freeze({ ok: true, value: false });

interface Ast {
	op: string;
	args: unknown;
	range: { start: number; end: number };
}

type Verdict = boolean | undefined;

/**
 * A matcher for the shape most conditions have, an `&&` chain of
 * `data.<field>… <op> <literal>` comparisons, in plain JS, as event-pattern
 * matchers do: it answers only where the answer is certain and equal to
 * CEL's (a number with a number: every comparison; a string, a bool or null
 * with its own type: == and !=), and undefined otherwise, for CEL to decide.
 * One certain false operand makes the chain false (CEL's && is false if any
 * operand is, errors or not); every operand certain and true makes it true.
 * `test/triggers-cel-quick.test.ts` holds it equal to cel-js.
 */
function quickMatcher(ast: Ast): ((data: unknown) => Verdict) | undefined {
	const operands: Ast[] = [];
	const walk = (node: Ast) => {
		if (node.op === "&&") for (const child of node.args as Ast[]) walk(child);
		else operands.push(node);
	};
	walk(ast);
	const checks = operands.map(comparison);
	const known = checks.filter((c): c is (data: unknown) => Verdict => c !== undefined);
	if (known.length === 0) return undefined;
	const complete = known.length === checks.length;
	if (known.length === 1) {
		const [only] = known as [(data: unknown) => Verdict];
		return complete ? only : (data) => (only(data) === false ? false : undefined);
	}
	if (known.length === 2) {
		const [a, b] = known as [(data: unknown) => Verdict, (data: unknown) => Verdict];
		return (data) => {
			const x = a(data);
			if (x === false) return false;
			const y = b(data);
			if (y === false) return false;
			return complete && x === true && y === true ? true : undefined;
		};
	}
	return (data) => {
		let all = complete;
		for (const check of known) {
			const v = check(data);
			if (v === false) return false;
			if (v === undefined) all = false;
		}
		return all ? true : undefined;
	};
}

const ORDER = new Set(["<", "<=", ">", ">="]);

function comparison(node: Ast): ((data: unknown) => Verdict) | undefined {
	const op = node.op;
	if (!(op === "==" || op === "!=" || ORDER.has(op))) return undefined;
	const [left, right] = node.args as [Ast, Ast];
	const path = dataPath(left);
	if (!path || right.op !== "value") return undefined;
	const literal = right.args;
	const kind = typeof literal === "bigint" || typeof literal === "number" ? "number" : literalKind(literal);
	if (!kind || (kind !== "number" && ORDER.has(op))) return undefined;
	const compare = comparator(op, literal);
	// A map's own field, read only where cel-js reads it as a map: a plain object (cel-js dispatches
	// on `constructor`, so an own `constructor` field or another prototype is left to it).
	const field = (v: unknown, name: string): unknown => {
		if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
		const made = (v as { constructor?: unknown }).constructor;
		if (made !== Object && made !== undefined) return undefined;
		return Object.hasOwn(v, name) ? (v as Record<string, unknown>)[name] : undefined;
	};
	const take = (v: unknown): Verdict => {
		const actual = typeof v === "number" ? "number" : literalKind(v);
		return actual === kind ? compare(v) : undefined;
	};
	if (path.length === 1) {
		const [name] = path as [string];
		return (data) => take(field(data, name));
	}
	return (data) => {
		let v: unknown = data;
		for (let i = 0; i < path.length; i++) v = field(v, path[i]!);
		return take(v);
	};
}

const literalKind = (v: unknown) =>
	v === null ? "null" : typeof v === "string" ? "string" : typeof v === "boolean" ? "boolean" : undefined;

/** `data.a.b` → ["a", "b"]; anything else undefined. */
function dataPath(node: Ast): string[] | undefined {
	const names: string[] = [];
	let n = node;
	while (n.op === ".") {
		const [inner, name] = n.args as [Ast, unknown];
		if (typeof name !== "string") return undefined;
		names.unshift(name);
		n = inner;
	}
	return n.op === "id" && n.args === "data" && names.length > 0 ? names : undefined;
}

// JS compares a number with a bigint exactly, as CEL compares a double with an int; an int that a
// double holds exactly is compared as that double (a mixed comparison is the engine's slow path).
function comparator(op: string, literal: unknown): (v: unknown) => boolean {
	const l =
		typeof literal === "bigint" &&
		literal >= BigInt(Number.MIN_SAFE_INTEGER) &&
		literal <= BigInt(Number.MAX_SAFE_INTEGER)
			? Number(literal)
			: literal;
	switch (op) {
		case "==":
			return typeof l === "bigint" ? (v) => !((v as number) < l || (v as number) > l) : (v) => v === l;
		case "!=":
			return typeof l === "bigint" ? (v) => (v as number) < l || (v as number) > l : (v) => v !== l;
		case "<":
			return (v) => (v as number) < (l as number);
		case "<=":
			return (v) => (v as number) <= (l as number);
		case ">":
			return (v) => (v as number) > (l as number);
		default:
			return (v) => (v as number) >= (l as number);
	}
}

/** The top-level operands of a chain of && or || (the whole expression otherwise). */
function operandsOf(
	env: Environment,
	ast: { op: string; args: unknown; range: { start: number; end: number } },
	source: string,
) {
	const parts: { start: number; end: number }[] = [];
	const walk = (node: typeof ast, op: string) => {
		if (node.op === op) for (const child of node.args as (typeof ast)[]) walk(child, op);
		else parts.push(node.range);
	};
	if (ast.op === "&&" || ast.op === "||") walk(ast, ast.op);
	if (parts.length < 2) return [];
	return parts.map(({ start, end }) => {
		const text = source.slice(start, end);
		const fn = env.parse(text);
		return { text, run: (vars: Record<string, unknown>) => fn(vars) };
	});
}
