/** Webhook transport details: HTTPS pinned to the checked address, TLS name checks, the connect timeout. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createWebhookSender } from "../src/outbound/senders/webhook.ts";
import type { DeliveryRequest } from "../src/outbound/types.ts";
import { failure } from "./support/senders.ts";

// A self-signed P-256 certificate for hooks.example.test, valid until 2126; test use only.
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgb/VTULVjbD4mu+c8
/V+pqsVOKxplKCc+PFiEklBG7qGhRANCAAQnjidPNhJCGe5bDBHJbLHV2NK3i4jg
eMfWgm7Dt99dAbd+L6L/f7vzzFQAgyYH0Hg0sQHE/dKktw2A04YBl71P
-----END PRIVATE KEY-----`;
const CERT = `-----BEGIN CERTIFICATE-----
MIIBsDCCAVagAwIBAgIUUm1iy2I+zgVK0xB9bYe0T35w9VowCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSaG9va3MuZXhhbXBsZS50ZXN0MCAXDTI2MTEyMjAwMDMzMFoY
DzIxMjYxMDI5MDAwMzMwWjAdMRswGQYDVQQDDBJob29rcy5leGFtcGxlLnRlc3Qw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQnjidPNhJCGe5bDBHJbLHV2NK3i4jg
eMfWgm7Dt99dAbd+L6L/f7vzzFQAgyYH0Hg0sQHE/dKktw2A04YBl71Po3IwcDAd
BgNVHQ4EFgQUPmZhOlLUWxXEnMNQDna+uqEemkcwHwYDVR0jBBgwFoAUPmZhOlLU
WxXEnMNQDna+uqEemkcwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHREEFjAUghJob29r
cy5leGFtcGxlLnRlc3QwCgYIKoZIzj0EAwIDSAAwRQIhAMwd6313kfoHPxoT6pTy
zsYGILQ165nYXU7jEHVZoN4ZAiAfUYnsKEhxS4cLoAXmfBmzf3Z2DAZhW0KjUisJ
NMpynQ==
-----END CERTIFICATE-----`;

let tlsServer: ReturnType<typeof Bun.serve>;
const hosts: string[] = [];

beforeAll(() => {
	tlsServer = Bun.serve({
		hostname: "127.0.0.1",
		port: 0,
		tls: { key: KEY, cert: CERT },
		fetch(req) {
			hosts.push(req.headers.get("host") ?? "");
			return new Response("ok");
		},
	});
});

afterAll(() => tlsServer.stop(true));

const request = (url: string): DeliveryRequest => ({
	deliveryId: "dlv-net",
	attempt: 1,
	idempotencyKey: "idem-net",
	target: { kind: "webhook", url, headers: {}, secret: "s" },
	message: {
		notificationId: "n",
		userId: "u",
		kind: "k",
		title: "t",
		body: "b",
		data: {},
		createdAt: "2026-01-01T00:00:00.000Z",
	},
});

const pinnedTo127 = {
	allowPrivate: ["hooks.example.test", "wrong.example.test"],
	connectTimeoutMs: 1_000,
	timeoutMs: 5_000,
	resolve: async () => ["127.0.0.1"],
	ca: CERT,
};

test("https is pinned to the checked address; SNI, certificate check and Host use the name", async () => {
	const send = createWebhookSender(pinnedTo127);
	const url = `https://hooks.example.test:${tlsServer.port}/hook`;
	expect(await send(request(url))).toEqual({ statusCode: 200 });
	expect(hosts.at(-1)).toBe(`hooks.example.test:${tlsServer.port}`);
});

test("a certificate for another name fails (retryably), and the error quotes no URL", async () => {
	const send = createWebhookSender(pinnedTo127);
	const url = `https://wrong.example.test:${tlsServer.port}/hook/secret-path-token`;
	const error = await failure(send(request(url)));
	expect(error.retryable).toBe(true);
	expect(error.options.reason).toBe("network_error");
	expect(error.message).not.toContain("secret-path-token");
	expect(error.message).toContain("wrong.example.test");
});

// A listening socket that never accepts: once its queue is full the kernel drops new SYNs, so a
// connection attempt hangs like one to a dead host. Uses python3 (setup needs it anyway, for the
// Temporal CLI) for the raw listen(0).
const python = Bun.which("python3") ?? "python3";

test("a destination that does not accept connections fails on the connect timeout", async () => {
	const script = [
		"import socket,sys",
		"s=socket.socket()",
		"s.bind(('127.0.0.1',0))",
		"s.listen(0)",
		"print(s.getsockname()[1],flush=True)",
		"sys.stdin.read()",
	].join("\n");
	const child = Bun.spawn([python!, "-c", script], { stdin: "pipe", stdout: "pipe" });
	try {
		const { value } = await child.stdout.getReader().read();
		const port = Number(new TextDecoder().decode(value).trim());
		const filler = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
		const send = createWebhookSender({
			allowPrivate: ["127.0.0.1"],
			connectTimeoutMs: 200,
			timeoutMs: 10_000,
		});
		const started = Date.now();
		const error = await failure(send(request(`http://127.0.0.1:${port}/hook`)));
		expect([error.retryable, error.options.reason]).toEqual([true, "connect_timeout"]);
		expect(Date.now() - started).toBeLessThan(5_000);
		filler.end();
	} finally {
		child.kill();
		await child.exited;
	}
});
