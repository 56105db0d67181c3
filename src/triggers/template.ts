/**
 * Action payloads are JSON templates, never code: a string that is exactly
 * `{{path}}` becomes the value at that path with its JSON type; `{{path}}`
 * inside a longer string is replaced by the value as text, escaped for the
 * channel (HTML for Telegram, nothing for JSON and plain-text email). Paths
 * are checked at save time; the rendered payload is capped.
 */

export const TEMPLATE_MAX_BYTES = 16_384;
export const RENDERED_MAX_BYTES = 65_536;

export type Escape = "none" | "html";

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\s*\}\}$/;

/** Fixed roots and their fields; `*` = any path below (the event's free-form data). */
const KNOWN: Record<string, readonly string[] | "*"> = {
	event: ["id", "seq", "type", "source", "externalId", "occurredAt", "receivedAt", "data"],
	data: "*",
	trigger: ["id", "name", "version"],
	fire: ["key", "at", "suppressed", "reason"],
	ema: ["value", "prev", "samples"],
	count: [],
};

/** The path of every placeholder in `template` that names nothing a fire has (empty = all known). */
export function unknownPaths(template: unknown): string[] {
	const bad: string[] = [];
	const check = (path: string) => {
		const [root, field, ...rest] = path.split(".");
		const known = KNOWN[root!];
		if (known === undefined) return bad.push(path);
		if (known === "*" || field === undefined) return;
		if (!known.includes(field)) return bad.push(path);
		if (rest.length > 0 && !(root === "event" && field === "data")) bad.push(path);
	};
	walkStrings(template, (s) => {
		for (const m of s.matchAll(PLACEHOLDER)) check(m[1]!);
	});
	return bad;
}

function walkStrings(value: unknown, visit: (s: string) => void): void {
	if (typeof value === "string") visit(value);
	else if (Array.isArray(value)) for (const v of value) walkStrings(v, visit);
	else if (value && typeof value === "object")
		for (const [k, v] of Object.entries(value)) {
			visit(k);
			walkStrings(v, visit);
		}
}

const lookup = (vars: Record<string, unknown>, path: string): unknown => {
	let v: unknown = vars;
	for (const part of path.split(".")) {
		if (v === null || typeof v !== "object") return undefined;
		v = (v as Record<string, unknown>)[part];
	}
	return v;
};

const jsonSafe = (v: unknown): unknown =>
	typeof v === "bigint" ? Number(v) : v instanceof Date ? v.toISOString() : v;

const escapeHtml = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

function text(v: unknown, mode: Escape): string {
	const safe = jsonSafe(v);
	const s =
		safe === undefined || safe === null ? "" : typeof safe === "object" ? JSON.stringify(safe) : String(safe);
	return mode === "html" ? escapeHtml(s) : s;
}

export class TemplateTooLarge extends Error {
	override readonly name = "TemplateTooLarge";
}

/** Renders `template` with `vars`; throws TemplateTooLarge past RENDERED_MAX_BYTES. */
export function render(template: unknown, vars: Record<string, unknown>, mode: Escape = "none"): unknown {
	const go = (value: unknown): unknown => {
		if (typeof value === "string") {
			const whole = WHOLE.exec(value);
			if (whole) return jsonSafe(lookup(vars, whole[1]!)) ?? null;
			return value.replace(PLACEHOLDER, (_, path: string) => text(lookup(vars, path), mode));
		}
		if (Array.isArray(value)) return value.map(go);
		if (value && typeof value === "object")
			return Object.fromEntries(Object.entries(value).map(([k, v]) => [go(k) as string, go(v)]));
		return value;
	};
	const out = go(template);
	if (Buffer.byteLength(JSON.stringify(out) ?? "") > RENDERED_MAX_BYTES)
		throw new TemplateTooLarge(`rendered payload exceeds ${RENDERED_MAX_BYTES} bytes`);
	return out;
}
