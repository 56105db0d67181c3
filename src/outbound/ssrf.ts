/**
 * Server-side request forgery guard for outgoing webhooks. A webhook URL is
 * user input, so before every request (and every redirect hop) its host is
 * resolved and each address classified; one non-public address refuses the
 * whole destination (a hostname that resolves to one public and one private
 * address is refused: the client may pick either).
 *
 * `WEBHOOK_ALLOW_PRIVATE` lists exact hostnames, IPs and CIDRs that may be
 * private (a receiver on the same machine or network). Link-local and cloud
 * metadata addresses are refused always, allow-listed or not.
 *
 * The CIDR helpers are pure (bigint arithmetic, no I/O); only
 * `assertPublicDestination` resolves names.
 */
import { promises as dns } from "node:dns";
import { isIPv4, isIPv6 } from "node:net";

export type AddressCategory =
	| "loopback"
	| "private"
	| "link_local"
	| "metadata"
	| "unspecified"
	| "multicast";

export type RefusalReason =
	| AddressCategory
	| "scheme"
	| "unresolvable"
	| "credentials_in_url"
	/** Not in the original list: a string that is no URL at all. */
	| "invalid_url";

export class DestinationRefused extends Error {
	override readonly name = "DestinationRefused";
	constructor(
		readonly reason: RefusalReason,
		message: string,
		/** The offending address, when one was resolved. */
		readonly address?: string,
	) {
		super(message);
	}
}

export type Resolver = (hostname: string) => Promise<string[]>;

export interface ParsedIp {
	family: 4 | 6;
	value: bigint;
}

export interface Cidr extends ParsedIp {
	prefix: number;
}

export interface AllowList {
	hosts: ReadonlySet<string>;
	ranges: readonly Cidr[];
}

const bitsOf = (family: 4 | 6) => (family === 4 ? 32 : 128);

function strip(text: string): string {
	let s = text.trim();
	if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
	const zone = s.indexOf("%");
	return zone >= 0 ? s.slice(0, zone) : s;
}

function v4Value(text: string): bigint {
	return text.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v6Value(text: string): bigint {
	let s = text.toLowerCase();
	if (s.includes(".")) {
		const cut = s.lastIndexOf(":") + 1;
		const v4 = v4Value(s.slice(cut));
		s = `${s.slice(0, cut)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
	}
	const [head = "", tail] = s.split("::");
	const headGroups = head ? head.split(":") : [];
	const tailGroups = tail ? tail.split(":") : [];
	const fill = tail === undefined ? [] : Array(8 - headGroups.length - tailGroups.length).fill("0");
	return [...headGroups, ...fill, ...tailGroups].reduce((acc, g) => (acc << 16n) | BigInt(`0x${g}`), 0n);
}

/** Parses an IPv4 or IPv6 literal (brackets and a zone id allowed); IPv4-mapped IPv6 becomes IPv4. */
export function parseIp(text: string): ParsedIp | null {
	const s = strip(text);
	if (isIPv4(s)) return { family: 4, value: v4Value(s) };
	if (!isIPv6(s)) return null;
	const value = v6Value(s);
	if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
	return { family: 6, value };
}

export function formatIp(ip: ParsedIp): string {
	if (ip.family === 4) return [24n, 16n, 8n, 0n].map((shift) => (ip.value >> shift) & 0xffn).join(".");
	const groups = Array.from({ length: 8 }, (_, i) =>
		((ip.value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16),
	);
	return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}

/** The canonical text of an address ("::ffff:7f00:1" → "127.0.0.1"), or null when it is not one. */
export function normalizeAddress(text: string): string | null {
	const ip = parseIp(text);
	return ip ? formatIp(ip) : null;
}

/** "10.0.0.0/8", "fc00::/7"; a bare IP is a single-address range. Throws on anything else. */
export function parseCidr(text: string): Cidr {
	const [address = "", prefixText, extra] = text.split("/");
	const ip = parseIp(address);
	if (!ip || extra !== undefined) throw new Error(`not an IP range: ${text}`);
	const mapped = ip.family === 4 && isIPv6(strip(address));
	let prefix = bitsOf(ip.family);
	if (prefixText !== undefined) {
		if (!/^\d{1,3}$/.test(prefixText)) throw new Error(`not an IP range: ${text}`);
		prefix = Number(prefixText) - (mapped ? 96 : 0);
		if (prefix < 0 || prefix > bitsOf(ip.family)) throw new Error(`not an IP range: ${text}`);
	}
	const shift = BigInt(bitsOf(ip.family) - prefix);
	return { family: ip.family, value: (ip.value >> shift) << shift, prefix };
}

export function cidrContains(range: Cidr, ip: ParsedIp): boolean {
	if (range.family !== ip.family) return false;
	const shift = BigInt(bitsOf(ip.family) - range.prefix);
	return ip.value >> shift === range.value >> shift;
}

const RULES: [AddressCategory, Cidr][] = (
	[
		["metadata", "169.254.169.254"], // AWS, GCP, Azure, OpenStack
		["metadata", "100.100.100.200"], // Alibaba Cloud
		["metadata", "fd00:ec2::254"], // AWS over IPv6
		["unspecified", "0.0.0.0/8"],
		["unspecified", "::/128"],
		["loopback", "127.0.0.0/8"],
		["loopback", "::1/128"],
		["link_local", "169.254.0.0/16"],
		["link_local", "fe80::/10"],
		["multicast", "224.0.0.0/4"],
		["multicast", "ff00::/8"],
		["private", "10.0.0.0/8"],
		["private", "172.16.0.0/12"],
		["private", "192.168.0.0/16"],
		["private", "100.64.0.0/10"], // carrier-grade NAT
		["private", "192.0.0.0/24"], // IETF protocol assignments
		["private", "198.18.0.0/15"], // benchmarking
		["private", "240.0.0.0/4"], // reserved, and the broadcast address
		["private", "fc00::/7"], // unique local
		["private", "fec0::/10"], // deprecated site-local
	] as const
).map(([category, range]): [AddressCategory, Cidr] => [category, parseCidr(range)]);

/** IPv6 ranges that carry an IPv4 address (NAT64, 6to4, IPv4-compatible): judged by that address. */
const EMBEDDING: [Cidr, (value: bigint) => bigint][] = [
	[parseCidr("64:ff9b::/96"), (v) => v & 0xffffffffn],
	[parseCidr("2002::/16"), (v) => (v >> 80n) & 0xffffffffn],
	[parseCidr("::/96"), (v) => v & 0xffffffffn],
];

const ALWAYS_REFUSED: ReadonlySet<AddressCategory> = new Set(["link_local", "metadata"]);
const METADATA_HOSTS = new Set(["metadata.google.internal", "metadata"]);

function categorize(ip: ParsedIp): AddressCategory | null {
	for (const [category, range] of RULES) if (cidrContains(range, ip)) return category;
	for (const [range, extract] of EMBEDDING)
		if (cidrContains(range, ip)) return categorize({ family: 4, value: extract(ip.value) });
	return null;
}

/** What is wrong with an address, or null when it is public. Unparseable text counts as private. */
export function classifyAddress(text: string): AddressCategory | null {
	const ip = parseIp(text);
	return ip ? categorize(ip) : "private";
}

const hostKey = (host: string) => strip(host).toLowerCase().replace(/\.$/, "");

/** Compiles WEBHOOK_ALLOW_PRIVATE; throws on a malformed CIDR so a typo fails at startup. */
export function parseAllowList(entries: readonly string[]): AllowList {
	const hosts = new Set<string>();
	const ranges: Cidr[] = [];
	for (const raw of entries) {
		const entry = raw.trim();
		if (!entry) continue;
		if (entry.includes("/") || parseIp(entry)) ranges.push(parseCidr(entry));
		else hosts.add(hostKey(entry));
	}
	return { hosts, ranges };
}

const toAllowList = (allow: readonly string[] | AllowList): AllowList =>
	Array.isArray(allow) ? parseAllowList(allow) : (allow as AllowList);

/**
 * Why a connection to `ip` must not be made, or null when it may. `hostname`
 * (optional) lets an allow-listed hostname vouch for its addresses; link-local
 * and metadata addresses are refused whatever the allow list says.
 */
export function isRefusedAddress(
	ip: string,
	allow: readonly string[] | AllowList,
	hostname?: string,
): RefusalReason | null {
	const parsed = parseIp(ip);
	if (!parsed) return "unresolvable";
	const category = categorize(parsed);
	if (!category) return null;
	if (ALWAYS_REFUSED.has(category)) return category;
	const list = toAllowList(allow);
	if (hostname !== undefined && list.hosts.has(hostKey(hostname))) return null;
	return list.ranges.some((range) => cidrContains(range, parsed)) ? null : category;
}

const defaultResolve: Resolver = async (hostname) =>
	(await dns.lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/**
 * Checks a webhook URL: http(s) only, no credentials, and every address its
 * host resolves to is public or allow-listed. Returns the parsed URL and the
 * checked addresses (normalized), which the caller should connect to (so a
 * second DNS answer cannot differ from the checked one). Error messages name
 * the host, never the full URL (webhook URLs often embed tokens).
 */
export async function assertPublicDestination(
	rawUrl: string,
	options: { allowPrivate: readonly string[] | AllowList; resolve?: Resolver },
): Promise<{ url: URL; addresses: string[] }> {
	let url: URL;
	try {
		url = new URL(rawUrl);
	} catch {
		throw new DestinationRefused("invalid_url", "destination refused: not a URL");
	}
	if (url.protocol !== "http:" && url.protocol !== "https:")
		throw new DestinationRefused("scheme", `destination refused: scheme ${url.protocol} is not http(s)`);
	if (url.username || url.password)
		throw new DestinationRefused("credentials_in_url", "destination refused: credentials in the URL");
	const host = hostKey(url.hostname);
	if (METADATA_HOSTS.has(host))
		throw new DestinationRefused("metadata", `destination refused (metadata): ${host}`);
	const allow = toAllowList(options.allowPrivate);
	let resolved: string[];
	if (parseIp(host)) resolved = [host];
	else {
		try {
			resolved = await (options.resolve ?? defaultResolve)(host);
		} catch {
			resolved = [];
		}
		if (resolved.length === 0)
			throw new DestinationRefused("unresolvable", `destination refused (unresolvable): ${host}`);
	}
	const addresses: string[] = [];
	for (const address of resolved) {
		const normalized = normalizeAddress(address);
		const reason = normalized === null ? "unresolvable" : isRefusedAddress(normalized, allow, host);
		if (reason !== null || normalized === null)
			throw new DestinationRefused(
				reason ?? "unresolvable",
				`destination refused (${reason}): ${host} → ${address}`,
				address,
			);
		addresses.push(normalized);
	}
	return { url, addresses };
}
