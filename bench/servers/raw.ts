/** Baseline: a raw `Bun.serve` hello-world answering "OK", in its own process. */
const server = Bun.serve({
	hostname: "127.0.0.1",
	port: 0,
	fetch: () => new Response("OK"),
});
console.log(`LISTENING ${server.port}`);
process.on("SIGTERM", () => {
	void server.stop(true).then(() => process.exit(0));
});
