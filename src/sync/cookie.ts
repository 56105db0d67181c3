/**
 * Sync cookies. A baseline cookie is the user's version as a decimal string
 * ("42"): everything committed at or below it is on the device. A page cookie
 * (while `hasMore`) carries the pull in progress: the baseline it started
 * from, the version bound fixed by its first page (every page reads up to the
 * same bound: one consistent cut), the last key sent, whether it is a full
 * snapshot, and the group's last mutation ids read with the bound.
 */
export type Key = readonly [version: number, entity: string, id: string];

export interface PageState {
	readonly from: number;
	readonly bound: number;
	readonly after: Key | null;
	readonly snapshot: boolean;
	readonly lastMutationIds: Readonly<Record<string, number>>;
}

export type ParsedCookie =
	| { kind: "none" }
	| { kind: "baseline"; version: number }
	| { kind: "page"; state: PageState };

const PAGE_PREFIX = "p.";
const MAX_VERSION = Number.MAX_SAFE_INTEGER;
const isVersion = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export const baselineCookie = (version: number): string => String(version);

export const pageCookie = (s: PageState): string =>
	PAGE_PREFIX +
	Buffer.from(JSON.stringify([s.from, s.bound, s.after, s.snapshot ? 1 : 0, s.lastMutationIds])).toString(
		"base64url",
	);

/** Anything that is not a cookie this server wrote reads as "unknown" (the pull answers a full snapshot). */
export function parseCookie(cookie: string | null | undefined): ParsedCookie | { kind: "unknown" } {
	if (cookie === null || cookie === undefined) return { kind: "none" };
	if (/^\d{1,16}$/.test(cookie)) {
		const version = Number(cookie);
		return version <= MAX_VERSION ? { kind: "baseline", version } : { kind: "unknown" };
	}
	if (!cookie.startsWith(PAGE_PREFIX)) return { kind: "unknown" };
	try {
		const v: unknown = JSON.parse(
			Buffer.from(cookie.slice(PAGE_PREFIX.length), "base64url").toString("utf8"),
		);
		if (!Array.isArray(v) || v.length !== 5) return { kind: "unknown" };
		const [from, bound, after, snapshot, lmids] = v as unknown[];
		if (!isVersion(from) || !isVersion(bound) || from > bound) return { kind: "unknown" };
		if (after !== null && !validKey(after)) return { kind: "unknown" };
		if (snapshot !== 0 && snapshot !== 1) return { kind: "unknown" };
		if (typeof lmids !== "object" || lmids === null || Array.isArray(lmids)) return { kind: "unknown" };
		if (!Object.values(lmids).every(isVersion)) return { kind: "unknown" };
		return {
			kind: "page",
			state: {
				from,
				bound,
				after: after as Key | null,
				snapshot: snapshot === 1,
				lastMutationIds: lmids as Record<string, number>,
			},
		};
	} catch {
		return { kind: "unknown" };
	}
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function validKey(k: unknown): k is Key {
	return (
		Array.isArray(k) &&
		k.length === 3 &&
		isVersion(k[0]) &&
		typeof k[1] === "string" &&
		["contact", "transaction", "reminder"].includes(k[1]) &&
		typeof k[2] === "string" &&
		UUID.test(k[2])
	);
}
