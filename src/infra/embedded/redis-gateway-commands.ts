/**
 * What the REST gateway accepts and how it answers, in Upstash's shapes:
 * a command is a JSON array of strings/numbers; a reply is `{ result }` or
 * `{ error }`; with `Upstash-Encoding: base64` every string in a result is
 * base64 (numbers and nulls stay as they are), which is what `@upstash/redis`
 * decodes by default.
 */
import { RedisReplyError, type Reply } from "./resp.ts";

/** A malformed request body: answered with HTTP 400 `{ error }`. */
export class GatewayRequestError extends Error {
	override readonly name = "GatewayRequestError";
}

export type CommandReply = { result: unknown } | { error: string };

/** A JSON command array → Redis arguments (numbers and booleans as text). */
export function parseCommand(value: unknown): string[] {
	if (!Array.isArray(value) || value.length === 0) {
		throw new GatewayRequestError('ERR a command must be a non-empty JSON array, e.g. ["GET","key"]');
	}
	return value.map((arg) => {
		if (typeof arg === "string") return arg;
		if (typeof arg === "number" && Number.isFinite(arg)) return String(arg);
		if (typeof arg === "boolean") return String(arg);
		throw new GatewayRequestError(
			`ERR invalid command argument ${JSON.stringify(arg)}: use strings or numbers`,
		);
	});
}

/** A JSON array of command arrays (pipeline, multi-exec). */
export function parseCommands(value: unknown): string[][] {
	if (!Array.isArray(value) || value.length === 0) {
		throw new GatewayRequestError("ERR a pipeline must be a non-empty JSON array of command arrays");
	}
	return value.map(parseCommand);
}

// Commands that would change or wedge the state of a shared connection, or
// that make no sense over stateless HTTP (transactions go to /multi-exec,
// pub/sub to /subscribe). Upstash rejects these too.
const notAvailable = new Set([
	"AUTH",
	"DISCARD",
	"EXEC",
	"HELLO",
	"MONITOR",
	"MULTI",
	"PSUBSCRIBE",
	"PSYNC",
	"PUNSUBSCRIBE",
	"QUIT",
	"RESET",
	"SELECT",
	"SSUBSCRIBE",
	"SUBSCRIBE",
	"SUNSUBSCRIBE",
	"SYNC",
	"UNSUBSCRIBE",
	"UNWATCH",
	"WATCH",
]);

/** Why the gateway refuses `args`, or `undefined` when it may run. */
export function refusal(args: readonly string[]): string | undefined {
	const name = (args[0] ?? "").toUpperCase();
	const sub = (args[1] ?? "").toUpperCase();
	if (notAvailable.has(name) || (name === "CLIENT" && (sub === "REPLY" || sub === "TRACKING"))) {
		return `ERR Command is not available: '${args[0]?.toLowerCase()}'`;
	}
	return undefined;
}

const blocking = new Set([
	"BLMOVE",
	"BLMPOP",
	"BLPOP",
	"BRPOP",
	"BRPOPLPUSH",
	"BZMPOP",
	"BZPOPMAX",
	"BZPOPMIN",
	"WAIT",
	"WAITAOF",
]);

/** Commands that can park a connection; they never run on the shared one. */
export function isBlocking(args: readonly string[]): boolean {
	const name = (args[0] ?? "").toUpperCase();
	if (blocking.has(name)) return true;
	if (name === "XREAD" || name === "XREADGROUP") return args.some((arg) => arg.toUpperCase() === "BLOCK");
	return false;
}

const utf8 = new TextDecoder();

function encodeString(bytes: Uint8Array, base64: boolean): string {
	return base64
		? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")
		: utf8.decode(bytes);
}

/** A Redis reply → the JSON `result` value. */
export function encodeResult(reply: Reply, base64: boolean): unknown {
	if (reply === null || typeof reply === "number") return reply;
	if (typeof reply === "string") return base64 ? Buffer.from(reply, "utf8").toString("base64") : reply;
	if (reply instanceof Uint8Array) return encodeString(reply, base64);
	if (reply instanceof RedisReplyError) {
		return base64 ? Buffer.from(reply.message, "utf8").toString("base64") : reply.message;
	}
	return reply.map((item) => encodeResult(item, base64));
}

/** A Redis reply → `{ result }`, or `{ error }` for an error reply. */
export function toCommandReply(reply: Reply, base64: boolean): CommandReply {
	return reply instanceof RedisReplyError
		? { error: reply.message }
		: { result: encodeResult(reply, base64) };
}
