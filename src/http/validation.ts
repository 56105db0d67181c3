/** What the edge says about invalid input, and which methods a path allows. */
import type { ValidationError } from "elysia";

type Schema = Record<string, unknown> & {
	type?: string;
	anyOf?: Schema[];
	enum?: unknown[];
	const?: unknown;
};

/** One issue per failed field: its JSON pointer and the rule it broke, in words. */
export function validationIssues(error: ValidationError): { path: string; message: string }[] {
	const seen = new Set<string>();
	const issues: { path: string; message: string }[] = [];
	for (const e of error.all as Array<{
		path?: string;
		schema?: Schema;
		message?: string;
		summary?: string;
	}>) {
		const path = e.path || "/";
		if (seen.has(path)) continue;
		seen.add(path);
		issues.push({
			path,
			message: e.schema ? describe(e.schema) : (e.summary ?? e.message ?? "invalid value"),
		});
	}
	return issues.length > 0 ? issues : [{ path: "/", message: error.message }];
}

/** The rule a schema states, e.g. "must be an integer from 1 to 100", "must be one of: a, b". */
export function describe(schema: Schema): string {
	// Elysia's query numbers are "a numeric string or a number": the number branch holds the rule.
	const branches = schema.anyOf ?? [];
	const numeric = branches.find((b) => b.type === "integer" || b.type === "number");
	if (numeric) return describe(numeric);
	const literals = branches.filter((b) => "const" in b).map((b) => b.const);
	if (branches.length > 0 && literals.length === branches.length)
		return `must be one of: ${literals.map(String).join(", ")}`;
	if (schema.enum) return `must be one of: ${schema.enum.map(String).join(", ")}`;
	const range = (unit = "") => {
		const min = schema.minimum ?? schema.exclusiveMinimum;
		const max = schema.maximum ?? schema.exclusiveMaximum;
		if (min !== undefined && max !== undefined) return ` from ${min} to ${max}${unit}`;
		if (min !== undefined) return ` of at least ${min}${unit}`;
		if (max !== undefined) return ` of at most ${max}${unit}`;
		return "";
	};
	switch (schema.type) {
		case "integer":
			return `must be an integer${range()}`;
		case "number":
			return `must be a number${range()}`;
		case "boolean":
			return "must be true or false";
		case "string": {
			const rules: string[] = [];
			if (schema.format) rules.push(`in ${schema.format} format`);
			if (schema.minLength !== undefined && schema.maxLength !== undefined)
				rules.push(`${schema.minLength} to ${schema.maxLength} characters`);
			else if (schema.minLength !== undefined) rules.push(`at least ${schema.minLength} characters`);
			else if (schema.maxLength !== undefined) rules.push(`at most ${schema.maxLength} characters`);
			if (schema.pattern) rules.push(`matching ${schema.pattern}`);
			return rules.length ? `must be a string ${rules.join(", ")}` : "must be a string";
		}
		case "array": {
			const n =
				schema.maxItems !== undefined
					? ` of at most ${schema.maxItems} items`
					: schema.minItems
						? ` of at least ${schema.minItems} items`
						: "";
			return `must be an array${n}`;
		}
		case "object":
			return "must be an object with the documented properties";
		default:
			return "invalid value";
	}
}

/** Which methods each route path allows, for 405 answers (filled once all routes are mounted). */
export interface RouteTable {
	/** Hidden routes (`detail.hide`: guards of static paths, below) are not listed. */
	fill(routes: readonly { method: string; path: string; hooks?: unknown }[]): void;
	methodsFor(pathname: string): string[] | undefined;
}

export function createRouteTable(): RouteTable {
	let patterns: { re: RegExp; methods: Set<string>; literal: boolean }[] = [];
	return {
		fill(routes) {
			const byPath = new Map<string, Set<string>>();
			for (const r of routes) {
				if (r.method === "ALL" || r.method === "WS") continue;
				if ((r.hooks as { detail?: { hide?: boolean } } | undefined)?.detail?.hide) continue;
				byPath.set(r.path, (byPath.get(r.path) ?? new Set()).add(r.method.toUpperCase()));
			}
			patterns = [...byPath].map(([path, methods]) => ({
				re: new RegExp(
					`^${path
						.split("/")
						.map((seg) =>
							seg.startsWith(":") ? "[^/]+" : seg === "*" ? ".*" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
						)
						.join("/")}/?$`,
				),
				methods,
				literal: !path.includes(":") && !path.includes("*"),
			}));
		},
		methodsFor(pathname) {
			const methods = new Set<string>();
			const matching = patterns.filter((p) => p.re.test(pathname));
			// A literal path (`/triggers/dry-run`) is its own resource, not an id of `/triggers/:id`.
			const literal = matching.filter((p) => p.literal);
			for (const p of literal.length > 0 ? literal : matching) for (const m of p.methods) methods.add(m);
			if (methods.has("GET")) methods.add("HEAD");
			return methods.size > 0 ? [...methods].sort() : undefined;
		},
	};
}
