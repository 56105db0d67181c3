/** The SSRF guard: CIDR helpers, address classes, allow lists (no network: literal IPs and injected DNS). */
import { describe, expect, test } from "bun:test";
import {
	assertPublicDestination,
	cidrContains,
	classifyAddress,
	DestinationRefused,
	isRefusedAddress,
	normalizeAddress,
	parseAllowList,
	parseCidr,
	parseIp,
	type Resolver,
} from "../src/outbound/ssrf.ts";

async function refusal(url: string, allowPrivate: string[] = [], resolve?: Resolver): Promise<string> {
	try {
		await assertPublicDestination(url, { allowPrivate, ...(resolve ? { resolve } : {}) });
	} catch (error) {
		expect(error).toBeInstanceOf(DestinationRefused);
		return (error as DestinationRefused).reason;
	}
	return "accepted";
}

const dnsOf =
	(table: Record<string, string[]>): Resolver =>
	async (host) => {
		const answer = table[host];
		if (!answer) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: "ENOTFOUND" });
		return answer;
	};

describe("CIDR helpers", () => {
	test("parse and contain, IPv4 and IPv6", () => {
		const net10 = parseCidr("10.0.0.0/8");
		expect(cidrContains(net10, parseIp("10.255.0.1")!)).toBe(true);
		expect(cidrContains(net10, parseIp("11.0.0.1")!)).toBe(false);
		expect(parseCidr("10.1.2.3/8").value).toBe(net10.value); // host bits dropped
		const ula = parseCidr("fc00::/7");
		expect(cidrContains(ula, parseIp("fd12:3456::1")!)).toBe(true);
		expect(cidrContains(ula, parseIp("fe80::1")!)).toBe(false);
		expect(cidrContains(ula, parseIp("10.0.0.1")!)).toBe(false); // other family
		expect(cidrContains(parseCidr("0.0.0.0/0"), parseIp("8.8.8.8")!)).toBe(true);
		expect(cidrContains(parseCidr("192.168.1.7"), parseIp("192.168.1.7")!)).toBe(true);
		expect(cidrContains(parseCidr("192.168.1.7"), parseIp("192.168.1.8")!)).toBe(false);
	});

	test("malformed ranges throw", () => {
		for (const bad of [
			"10.0.0.0/33",
			"10.0.0/8",
			"::/129",
			"10.0.0.0/8/8",
			"hello/8",
			"10.0.0.0/-1",
			"1.2.3.4/",
		])
			expect(() => parseCidr(bad)).toThrow();
		expect(() => parseAllowList(["10.0.0.0/40"])).toThrow();
	});

	test("normalization: brackets, zone ids, IPv4-mapped IPv6, compression", () => {
		expect(normalizeAddress("[::ffff:127.0.0.1]")).toBe("127.0.0.1");
		expect(normalizeAddress("::ffff:7f00:1")).toBe("127.0.0.1");
		expect(normalizeAddress("fe80::1%eth0")).toBe("fe80::1");
		expect(normalizeAddress("0:0:0:0:0:0:0:1")).toBe("::1");
		expect(normalizeAddress("FD00:EC2:0:0:0:0:0:254")).toBe("fd00:ec2::254");
		expect(normalizeAddress("2001:db8::1:0:0:1")).toBe("2001:db8::1:0:0:1");
		expect(normalizeAddress("example.com")).toBeNull();
	});

	test("address classes", () => {
		const cases: [string, string | null][] = [
			["127.0.0.1", "loopback"],
			["127.255.1.2", "loopback"],
			["::1", "loopback"],
			["10.1.2.3", "private"],
			["172.16.0.1", "private"],
			["172.31.255.255", "private"],
			["172.32.0.1", null],
			["192.168.1.1", "private"],
			["100.64.0.1", "private"],
			["fd12::1", "private"],
			["169.254.10.10", "link_local"],
			["fe80::1", "link_local"],
			["169.254.169.254", "metadata"],
			["fd00:ec2::254", "metadata"],
			["0.0.0.0", "unspecified"],
			["::", "unspecified"],
			["224.0.0.1", "multicast"],
			["ff02::1", "multicast"],
			["::ffff:10.0.0.1", "private"],
			["64:ff9b::7f00:1", "loopback"], // NAT64 of 127.0.0.1
			["2002:a9fe:a9fe::1", "metadata"], // 6to4 of 169.254.169.254
			["93.184.216.34", null],
			["2606:2800:220:1:248:1893:25c8:1946", null],
		];
		for (const [ip, expected] of cases) expect([ip, classifyAddress(ip)]).toEqual([ip, expected as never]);
	});

	test("isRefusedAddress: allow list by range or hostname; link-local and metadata never", () => {
		const allow = parseAllowList(["127.0.0.0/8", "hooks.internal", "10.1.2.3"]);
		expect(isRefusedAddress("127.0.0.5", allow)).toBeNull();
		expect(isRefusedAddress("10.1.2.3", allow)).toBeNull();
		expect(isRefusedAddress("10.1.2.4", allow)).toBe("private");
		expect(isRefusedAddress("10.9.9.9", allow, "hooks.internal")).toBeNull();
		expect(isRefusedAddress("169.254.169.254", ["169.254.0.0/16"])).toBe("metadata");
		expect(isRefusedAddress("169.254.1.1", ["169.254.0.0/16"], "x")).toBe("link_local");
		expect(isRefusedAddress("8.8.8.8", [])).toBeNull();
	});
});

describe("assertPublicDestination", () => {
	test("literal loopback, private and special addresses are refused", async () => {
		expect(await refusal("http://127.0.0.1/hook")).toBe("loopback");
		expect(await refusal("http://[::1]:8080/hook")).toBe("loopback");
		expect(await refusal("http://[::ffff:127.0.0.1]/hook")).toBe("loopback");
		expect(await refusal("http://0x7f.1/hook")).toBe("loopback"); // WHATWG URL normalizes it
		expect(await refusal("http://2130706433/hook")).toBe("loopback");
		expect(await refusal("http://10.1.2.3/")).toBe("private");
		expect(await refusal("http://172.16.0.1/")).toBe("private");
		expect(await refusal("https://192.168.1.1/")).toBe("private");
		expect(await refusal("http://0.0.0.0/")).toBe("unspecified");
		expect(await refusal("http://[::]/")).toBe("unspecified");
		expect(await refusal("http://224.0.0.251/")).toBe("multicast");
		expect(await refusal("http://169.254.1.1/")).toBe("link_local");
	});

	test("metadata is refused even when allow-listed", async () => {
		expect(await refusal("http://169.254.169.254/latest/meta-data/")).toBe("metadata");
		expect(await refusal("http://169.254.169.254/", ["169.254.169.254", "169.254.0.0/16", "0.0.0.0/0"])).toBe(
			"metadata",
		);
		expect(await refusal("http://[fd00:ec2::254]/", ["fc00::/7"])).toBe("metadata");
		expect(await refusal("http://metadata.google.internal/computeMetadata/v1/")).toBe("metadata");
		expect(await refusal("http://metadata.google.internal./", ["metadata.google.internal"])).toBe("metadata");
		const rebinding = dnsOf({ "evil.example": ["93.184.216.34", "169.254.169.254"] });
		expect(await refusal("http://evil.example/", ["evil.example"], rebinding)).toBe("metadata");
	});

	test("scheme, credentials and garbage", async () => {
		expect(await refusal("ftp://93.184.216.34/file")).toBe("scheme");
		expect(await refusal("file:///etc/passwd")).toBe("scheme");
		expect(await refusal("gopher://93.184.216.34/")).toBe("scheme");
		expect(await refusal("http://user:pass@93.184.216.34/")).toBe("credentials_in_url");
		expect(await refusal("http://user@93.184.216.34/")).toBe("credentials_in_url");
		expect(await refusal("not a url")).toBe("invalid_url");
	});

	test("hostnames are judged by every address they resolve to", async () => {
		const dns = dnsOf({
			"loop.example": ["127.0.0.1"],
			"mixed.example": ["93.184.216.34", "10.0.0.7"],
			"mapped.example": ["::ffff:192.168.0.1"],
			"public.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
		});
		expect(await refusal("http://loop.example/", [], dns)).toBe("loopback");
		expect(await refusal("http://mixed.example/", [], dns)).toBe("private");
		expect(await refusal("http://mapped.example/", [], dns)).toBe("private");
		expect(await refusal("http://nowhere.example/", [], dns)).toBe("unresolvable");
		expect(await refusal("http://empty.example/", [], async () => [])).toBe("unresolvable");
		const ok = await assertPublicDestination("https://public.example/x", { allowPrivate: [], resolve: dns });
		expect(ok.addresses).toEqual(["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]);
		expect(ok.url.hostname).toBe("public.example");
	});

	test("localhost through the system resolver is loopback", async () => {
		expect(await refusal("http://localhost:3000/hook")).toBe("loopback");
	});

	test("a public literal IP is accepted without DNS", async () => {
		const result = await assertPublicDestination("https://93.184.216.34/hook", {
			allowPrivate: [],
			resolve: async () => {
				throw new Error("no DNS for literals");
			},
		});
		expect(result.addresses).toEqual(["93.184.216.34"]);
	});

	test("allow list: CIDR, exact IP, hostname", async () => {
		const dns = dnsOf({ "hooks.internal": ["10.20.30.40"], "other.internal": ["10.20.30.41"] });
		expect(await refusal("http://127.0.0.1:9000/", ["127.0.0.0/8"])).toBe("accepted");
		expect(await refusal("http://[::1]:9000/", ["::1"])).toBe("accepted");
		expect(await refusal("http://[::ffff:127.0.0.1]/", ["127.0.0.1"])).toBe("accepted");
		expect(await refusal("http://10.1.2.3/", ["10.0.0.0/8"])).toBe("accepted");
		expect(await refusal("http://10.1.2.3/", ["10.1.2.4"])).toBe("private");
		expect(await refusal("http://hooks.internal/", ["hooks.internal"], dns)).toBe("accepted");
		expect(await refusal("http://HOOKS.internal./", ["hooks.internal"], dns)).toBe("accepted");
		expect(await refusal("http://other.internal/", ["hooks.internal"], dns)).toBe("private");
		expect(await refusal("http://other.internal/", ["10.20.30.0/24"], dns)).toBe("accepted");
	});
});
