/** Probes each dependency concurrently, each bounded by a timeout. */
import type {
	AuthCacheStatus,
	BridgeStatus,
	DependencyStatus,
	HealthReport,
	ReconcilerStatus,
} from "./model.ts";

export type Probe = () => Promise<unknown>;

export interface HealthProbes {
	database: Probe;
	temporal: Probe;
	redis: Probe;
	/** Outbox backlog as the bridges see it; omitted where there is no database. */
	bridge?: () => Promise<BridgeStatus>;
	/** The reconciler's last run and what it repaired (informational: never degrades). */
	reconciler?: () => Promise<ReconcilerStatus>;
	/** This process's live-session cache (informational: a degraded cache is slower, not wrong). */
	authCache?: () => AuthCacheStatus;
}

/** The bridge is "degraded" when its oldest undelivered change is older than this. */
export const BRIDGE_LAG_LIMIT_SECONDS = 60;

export async function probe(fn: Probe, timeoutMs: number): Promise<DependencyStatus> {
	const t0 = performance.now();
	let timer: Timer | undefined;
	try {
		await Promise.race([
			fn(),
			new Promise((_, reject) => {
				timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
			}),
		]);
		return { status: "up", latencyMs: round(performance.now() - t0) };
	} catch (error) {
		return { status: "down", latencyMs: round(performance.now() - t0), error: describe(error) };
	} finally {
		clearTimeout(timer);
	}
}

export async function checkHealth(
	probes: HealthProbes,
	options: { version: string; startedAt: number; timeoutMs?: number },
): Promise<HealthReport> {
	const timeout = options.timeoutMs ?? 2000;
	const [database, temporal, redis, bridge, reconciler] = await Promise.all([
		probe(probes.database, timeout),
		probe(probes.temporal, timeout),
		probe(probes.redis, timeout),
		probes.bridge?.().catch(() => undefined),
		probes.reconciler?.().catch(() => undefined),
	]);
	const allUp =
		[database, temporal, redis].every((d) => d.status === "up") &&
		(bridge === undefined || bridge.lagSeconds <= BRIDGE_LAG_LIMIT_SECONDS);
	return {
		status: allUp ? "ok" : "degraded",
		version: options.version,
		uptimeSeconds: Math.round((Date.now() - options.startedAt) / 1000),
		database,
		temporal,
		redis,
		...(bridge ? { bridge } : {}),
		...(reconciler ? { reconciler } : {}),
		...(probes.authCache ? { authCache: probes.authCache() } : {}),
	};
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** Error text without credentials: URLs lose their userinfo and query. */
function describe(error: unknown): string {
	const text = error instanceof Error ? error.message : String(error);
	return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^@\s/]*@/gi, "$1").slice(0, 200);
}
