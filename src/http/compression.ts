/**
 * gzip for JSON/text bodies above a threshold when the client accepts it.
 * An `afterHandle` hook, not `mapResponse`: in Elysia 1.4 a `mapResponse`
 * hook that declines (returns undefined) empties error bodies.
 */
import { Elysia } from "elysia";

const THRESHOLD = 1024;

export const compression = new Elysia({ name: "herald/compression" }).onAfterHandle(
	{ as: "global" },
	({ request, responseValue, set }) => {
		if (responseValue === undefined || responseValue === null || responseValue instanceof Response) return;
		const isText = typeof responseValue === "string";
		if (!isText && (typeof responseValue !== "object" || responseValue instanceof Blob)) return;
		if (responseValue instanceof ReadableStream || responseValue instanceof Uint8Array) return;
		if (!(request.headers.get("accept-encoding") ?? "").includes("gzip")) return;
		const text = isText ? (responseValue as string) : JSON.stringify(responseValue);
		if (text.length < THRESHOLD) return;
		set.headers["content-encoding"] = "gzip";
		set.headers.vary = "accept-encoding";
		const type = set.headers["content-type"] ?? (isText ? "text/plain; charset=utf-8" : "application/json");
		return new Response(Bun.gzipSync(text), {
			status: typeof set.status === "number" ? set.status : 200,
			headers: { "content-type": String(type) },
		});
	},
);
