/**
 * `herald_redis_request_duration_seconds{command,outcome}`: every HTTP request
 * an `@upstash/redis` client makes (a command, a pipeline, a transaction),
 * timed around the client's requester, auto-pipelined batches included; with
 * tracing on, each is also a client span.
 */
import type { Redis, Requester, UpstashRequest, UpstashResponse } from "@upstash/redis";
import { histogram } from "../metrics.ts";
import { inSpan, SpanKind, tracingOn } from "../tracing.ts";

const duration = histogram(
	"herald_redis_request_duration_seconds",
	"Redis (Upstash REST) request duration, by command and outcome",
	["command", "outcome"],
);

/**
 * The command a request carries: its first word; a batch of one command (the
 * client auto-pipelines, so most commands travel alone in a pipeline) counts
 * as that command, a larger batch as `pipeline` / `multi-exec`.
 */
export function commandOf(req: UpstashRequest): string {
	const path = req.path?.[0];
	const batch = path === "pipeline" || path === "multi-exec";
	const body = req.body as unknown;
	const first = batch ? (Array.isArray(body) && body.length === 1 ? body[0] : undefined) : body;
	if (batch && first === undefined) return path;
	const word = Array.isArray(first) ? first[0] : undefined;
	return typeof word === "string" && /^[A-Za-z.]{1,32}$/.test(word) ? word.toLowerCase() : "other";
}

export function instrumentRedis(redis: Redis): Redis {
	const requester = Reflect.get(redis, "client") as Requester | undefined;
	if (!requester || typeof requester.request !== "function") return redis;
	const request = requester.request.bind(requester);
	requester.request = <T>(req: UpstashRequest): Promise<UpstashResponse<T>> =>
		tracingOn()
			? inSpan(
					`redis ${commandOf(req)}`,
					// The command word only: arguments may hold keys, tokens or values.
					{ kind: SpanKind.CLIENT, attributes: { "db.system": "redis", "db.operation": commandOf(req) } },
					() => timed<T>(req),
				)
			: timed<T>(req);
	const timed = async <T>(req: UpstashRequest): Promise<UpstashResponse<T>> => {
		const started = performance.now();
		let outcome = "ok";
		try {
			const response = await request<T>(req);
			if (response.error) outcome = "error";
			return response;
		} catch (error) {
			outcome = "error";
			throw error;
		} finally {
			duration.observe({ command: commandOf(req), outcome }, (performance.now() - started) / 1000);
		}
	};
	return redis;
}
