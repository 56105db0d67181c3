/** A real OTLP/HTTP (JSON) trace receiver on loopback: what an exporter sends, as spans. */

export interface ReceivedSpan {
	service: string;
	traceId: string;
	spanId: string;
	parentSpanId: string | undefined;
	name: string;
	kind: number;
	attributes: Record<string, unknown>;
	links: { traceId: string; spanId: string }[];
}

export interface OtlpReceiver {
	/** The endpoint to configure (OTEL_EXPORTER_OTLP_ENDPOINT); spans arrive at `/v1/traces`. */
	readonly url: string;
	readonly spans: ReceivedSpan[];
	/** Every request body, raw (the secrets check reads all of it). */
	readonly bodies: string[];
	stop(): void;
}

type AnyValue = {
	stringValue?: string;
	intValue?: string | number;
	boolValue?: boolean;
	doubleValue?: number;
};
const anyValue = (v: AnyValue) => v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
const attrs = (list: { key: string; value: AnyValue }[] | undefined) =>
	Object.fromEntries((list ?? []).map((a) => [a.key, anyValue(a.value)]));

export function startOtlpReceiver(): OtlpReceiver {
	const spans: ReceivedSpan[] = [];
	const bodies: string[] = [];
	const server = Bun.serve({
		hostname: "127.0.0.1",
		port: 0,
		async fetch(req) {
			if (req.method !== "POST" || new URL(req.url).pathname !== "/v1/traces")
				return new Response("not found", { status: 404 });
			if (!(req.headers.get("content-type") ?? "").includes("json"))
				return new Response("this receiver speaks OTLP/JSON", { status: 415 });
			const text = await req.text();
			bodies.push(text);
			const body = JSON.parse(text) as {
				resourceSpans?: {
					resource?: { attributes?: { key: string; value: AnyValue }[] };
					scopeSpans?: { spans?: any[] }[];
				}[];
			};
			for (const rs of body.resourceSpans ?? []) {
				const service = String(attrs(rs.resource?.attributes)["service.name"] ?? "");
				for (const ss of rs.scopeSpans ?? [])
					for (const s of ss.spans ?? [])
						spans.push({
							service,
							traceId: s.traceId,
							spanId: s.spanId,
							parentSpanId: s.parentSpanId || undefined,
							name: s.name,
							kind: s.kind,
							attributes: attrs(s.attributes),
							links: (s.links ?? []).map((l: { traceId: string; spanId: string }) => ({
								traceId: l.traceId,
								spanId: l.spanId,
							})),
						});
			}
			return Response.json({});
		},
	});
	return {
		url: `http://127.0.0.1:${server.port}`,
		spans,
		bodies,
		stop: () => void server.stop(true),
	};
}
