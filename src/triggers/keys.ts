/**
 * Ingestion keys: `hik_` + 32 random bytes (base64url). Only the SHA-256 of
 * a key is stored; a key is shown once, when its source is created.
 */
import { createHash, randomBytes } from "node:crypto";

export const KEY_PREFIX = "hik_";

export function newIngestionKey(): { key: string; hash: Uint8Array; prefix: string } {
	const key = KEY_PREFIX + randomBytes(32).toString("base64url");
	return { key, hash: hashIngestionKey(key), prefix: key.slice(0, KEY_PREFIX.length + 6) };
}

export const hashIngestionKey = (key: string): Uint8Array => createHash("sha256").update(key).digest();

/** The key of an `Authorization: Bearer hik_…` header, or undefined. */
export function ingestionKeyOf(header: string | null | undefined): string | undefined {
	const match = /^Bearer\s+(hik_[A-Za-z0-9_-]{20,100})\s*$/i.exec(header ?? "");
	return match?.[1];
}
