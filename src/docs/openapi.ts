/**
 * The published OpenAPI document, made to tell the truth about the server.
 * `@elysiajs/swagger` writes what TypeBox schemas say, which differs from
 * what the edge does in a few shared ways; each is corrected here, once, for
 * every route:
 * - the keywords are JSON Schema 2020 (`const`, `examples`, …): the document
 *   declares OpenAPI 3.1, whose schema dialect that is;
 * - bodies are JSON only (the edge answers other media types with 415), and
 *   responses are JSON (or the plain text of `/health`);
 * - Elysia's query numbers ("a numeric string or a number") are documented as
 *   what a client sends: an integer (or number, or boolean) parameter;
 * - unions of string literals are `enum`s, so every tool shows the values;
 * - `examples` on a parameter become its schema's examples (a parameter's own
 *   `examples` must be a map);
 * - every status the edge itself can return is listed with the error body:
 *   400/413/415/422 where there is a body, 422 where there are parameters,
 *   401 where a token is required;
 * - every authenticated POST takes the optional `Idempotency-Key` header
 *   (`src/http/idempotency.ts`), with its 409 and 422.
 */
import { KEY_PATTERN, MAX_KEY_LENGTH } from "../http/idempotency.ts";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

const ErrorSchema: Json = {
	type: "object",
	required: ["error"],
	properties: {
		error: {
			type: "object",
			required: ["code", "message", "requestId"],
			properties: {
				code: { type: "string", examples: ["validation_failed"] },
				message: { type: "string" },
				requestId: { type: "string" },
				details: {},
			},
		},
	},
};

const EDGE_ERRORS: Record<string, string> = {
	"400": "the body is not valid JSON (`malformed_body`)",
	"401": "no valid access token (`token_missing`, `token_expired`, `token_invalid`)",
	"413": "the body is over the size limit (`payload_too_large`)",
	"415": "the body is not `application/json` (`unsupported_media_type`)",
	"422": "the input breaks the schema (`validation_failed`, with each field's path and rule)",
	"409":
		"the state forbids it (`conflict`), or a request with this `Idempotency-Key` is still running (`idempotency_in_flight`)",
};

const IdempotencyKey: Json = {
	name: "Idempotency-Key",
	in: "header",
	required: false,
	description:
		"Makes the POST safe to retry: the first 2xx response is stored for 24 h and replayed (same status and " +
		"body, header `Idempotent-Replayed: true`) for a request with the same key; the same key with another " +
		"method, path or body is 422 `idempotency_key_reused`, one still running 409 `idempotency_in_flight`. " +
		"Keys are per user; a failed request frees its key.",
	schema: { type: "string", minLength: 1, maxLength: MAX_KEY_LENGTH, pattern: KEY_PATTERN },
};

const error = (description: string): Json => ({
	description,
	content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

export function normalizeOpenApi(raw: Json): Json {
	const doc = structuredClone(raw) as Json & {
		paths?: Record<string, Record<string, Json>>;
		components?: Json;
	};
	doc.openapi = "3.1.0";
	doc.components = {
		...(doc.components ?? {}),
		schemas: { ...((doc.components?.schemas as Json) ?? {}), Error: ErrorSchema },
	};
	for (const item of Object.values(doc.paths ?? {}))
		for (const [method, op] of Object.entries(item)) {
			if (!isObject(op) || method === "parameters") continue;
			normalizeOperation(op, method);
		}
	return schemas(doc) as Json;
}

function normalizeOperation(op: Json, method: string): void {
	const mayHaveBody = ["post", "put", "patch", "delete"].includes(method);
	const body = op.requestBody as Json | undefined;
	if (body && isObject(body.content)) {
		const json = (body.content as Json)["application/json"] as Json | undefined;
		body.content = json ? { "application/json": json } : body.content;
		body.required = true;
		// Unknown properties are ignored, not refused: say so (tools otherwise guess either way).
		for (const schema of [json?.schema, ...(((json?.schema as Json)?.anyOf as Json[]) ?? [])])
			if (isObject(schema) && schema.type === "object") schema.additionalProperties ??= true;
	}
	const responses = (op.responses ?? {}) as Record<string, Json>;
	for (const response of Object.values(responses)) {
		if (!isObject(response.content)) continue;
		const content = response.content as Json;
		const json = content["application/json"] as Json | undefined;
		// Elysia sends a string as text/plain (`/health`'s "OK"), anything else as JSON.
		if (json && isObject(json.schema) && json.schema.type === "string")
			response.content = { "text/plain": json };
		else if (json) response.content = { "application/json": json };
		else if (content["text/plain"]) response.content = { "text/plain": content["text/plain"] };
	}
	const parameters = (op.parameters ?? []) as Json[];
	for (const p of parameters) {
		if (Array.isArray(p.examples)) {
			const schema = (p.schema ?? {}) as Json;
			schema.examples ??= p.examples;
			p.schema = schema;
			delete p.examples;
		}
		if (p.description === undefined && isObject(p.schema) && typeof p.schema.description === "string")
			p.description = p.schema.description;
	}
	const secured = Array.isArray(op.security) && op.security.length > 0;
	if (method === "post" && secured) {
		parameters.push(IdempotencyKey);
		op.parameters = parameters;
		responses["409"] ??= error(EDGE_ERRORS["409"]!);
	}
	// Any request may carry a body; the edge refuses a bad one on every route, schema or not.
	const wanted = [
		...(body ? ["400", "413", "415", "422"] : mayHaveBody ? ["400", "413", "415"] : []),
		...(parameters.length > 0 ? ["422"] : []),
		...(secured ? ["401"] : []),
	];
	for (const status of wanted) responses[status] ??= error(EDGE_ERRORS[status]!);
	// The routes' own error bodies use the shared schema too (one definition, one name); a route
	// that answers an error status with another body (health's 503 report) keeps its own.
	for (const [status, response] of Object.entries(responses))
		if (Number(status) >= 400 && isErrorBody(response)) {
			response.description ??= EDGE_ERRORS[status] ?? "error";
			response.content = error("").content;
		}
	op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

/** Rewrites every schema in the document (depth first). */
function schemas(node: unknown): unknown {
	if (Array.isArray(node)) return node.map(schemas);
	if (!isObject(node)) return node;
	const out: Json = {};
	for (const [k, v] of Object.entries(node)) out[k] = schemas(v);
	const anyOf = out.anyOf as Json[] | undefined;
	if (Array.isArray(anyOf)) {
		// Elysia's coercing types: { anyOf: [{ type: "string", format: "integer" }, { type: "integer", … }] }.
		const stringly = anyOf.find(
			(b) => b.type === "string" && typeof b.format === "string" && b.format !== "date-time",
		);
		const typed = anyOf.find((b) => ["integer", "number", "boolean"].includes(b.type as string));
		if (anyOf.length === 2 && stringly && typed) {
			const { anyOf: _, default: fallback, ...rest } = out;
			return { ...rest, ...typed, ...(fallback !== undefined ? { default: fallback } : {}) };
		}
		// A union of string literals: an enum.
		if (anyOf.length > 0 && anyOf.every((b) => typeof b.const === "string")) {
			const { anyOf: _, ...rest } = out;
			return { ...rest, type: "string", enum: anyOf.map((b) => b.const) };
		}
	}
	return out;
}

/** A response whose schema is the shared error body (`{ error: { code, … } }`), or that has none. */
function isErrorBody(response: Json): boolean {
	const content = response.content as Record<string, Json> | undefined;
	const schema = content?.["application/json"]?.schema as Json | undefined;
	if (!schema) return true;
	const properties = schema.properties as Json | undefined;
	return schema.$ref === "#/components/schemas/Error" || (properties !== undefined && "error" in properties);
}
