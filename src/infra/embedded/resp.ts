/**
 * RESP2 wire format for the gateway's TCP side: encode commands, parse replies.
 *
 * Bulk strings stay raw bytes (`Uint8Array`) so the gateway can base64 them
 * without a lossy UTF-8 round trip; error replies become `RedisReplyError`
 * values (not thrown), because inside `EXEC` or a pipeline they are data.
 */

/** An error reply (`-ERR ...`) from Redis. */
export class RedisReplyError extends Error {
	override readonly name = "RedisReplyError";
}

export type Reply = string | number | Uint8Array | null | RedisReplyError | Reply[];

const CRLF = "\r\n";
const encoder = new TextEncoder();

/** `["SET", "k", "v"]` → `*3\r\n$3\r\nSET\r\n...` */
export function encodeCommand(args: readonly string[]): Uint8Array {
	const parts: Uint8Array[] = [encoder.encode(`*${args.length}${CRLF}`)];
	for (const arg of args) {
		const bytes = encoder.encode(arg);
		parts.push(encoder.encode(`$${bytes.byteLength}${CRLF}`), bytes, encoder.encode(CRLF));
	}
	return concat(parts);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
	let size = 0;
	for (const part of parts) size += part.byteLength;
	const out = new Uint8Array(size);
	let offset = 0;
	for (const part of parts) {
		out.set(part, offset);
		offset += part.byteLength;
	}
	return out;
}

const INCOMPLETE = Symbol("incomplete");
const decoder = new TextDecoder();

/**
 * Incremental reply parser: `push` bytes as they arrive, get every reply that
 * is complete. A partial reply is re-parsed from its start on the next chunk,
 * which is cheap for the small replies a gateway sees.
 */
export class ReplyParser {
	private buffer: Uint8Array = new Uint8Array(0);
	private offset = 0;

	push(chunk: Uint8Array): Reply[] {
		this.buffer =
			this.offset < this.buffer.byteLength ? concat([this.buffer.subarray(this.offset), chunk]) : chunk;
		this.offset = 0;
		const replies: Reply[] = [];
		while (this.offset < this.buffer.byteLength) {
			const start = this.offset;
			const reply = this.parse();
			if (reply === INCOMPLETE) {
				this.offset = start;
				break;
			}
			replies.push(reply);
		}
		return replies;
	}

	private line(): string | typeof INCOMPLETE {
		const end = this.buffer.indexOf(13, this.offset);
		if (end === -1 || end + 1 >= this.buffer.byteLength) return INCOMPLETE;
		const text = decoder.decode(this.buffer.subarray(this.offset, end));
		this.offset = end + 2;
		return text;
	}

	private parse(): Reply | typeof INCOMPLETE {
		const type = this.buffer[this.offset];
		this.offset += 1;
		const line = this.line();
		if (line === INCOMPLETE) return INCOMPLETE;
		switch (type) {
			case 43: // +
				return line;
			case 45: // -
				return new RedisReplyError(line);
			case 58: // :
				return Number(line);
			case 36: {
				// $
				const length = Number(line);
				if (length < 0) return null;
				if (this.offset + length + 2 > this.buffer.byteLength) return INCOMPLETE;
				const bytes = this.buffer.slice(this.offset, this.offset + length);
				this.offset += length + 2;
				return bytes;
			}
			case 42: {
				// *
				const count = Number(line);
				if (count < 0) return null;
				const items: Reply[] = [];
				for (let i = 0; i < count; i++) {
					const item = this.parse();
					if (item === INCOMPLETE) return INCOMPLETE;
					items.push(item);
				}
				return items;
			}
			default:
				throw new Error(`RESP protocol error: unexpected type byte ${String(type)}`);
		}
	}
}

/** Bytes → UTF-8 text, recursively; for callers that want plain strings. */
export function replyToText(reply: Reply): unknown {
	if (reply instanceof Uint8Array) return decoder.decode(reply);
	if (Array.isArray(reply)) return reply.map(replyToText);
	return reply;
}
