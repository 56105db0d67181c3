/**
 * The platform services of one process, built once from configuration
 * whatever the role: the Effect runtime (circuit breaker, rate limiter, logs),
 * the outbound transport (senders and destination guard), and, for the API,
 * tokens, authentication and the realtime hub over every feature's topics.
 */
import type { Client } from "@temporalio/client";
import { Option } from "effect";
import { type ExternalVerifier, jwksVerifier, supabaseVerifier } from "../auth/external.ts";
import { createAuthRateLimiter } from "../auth/rate-limit.ts";
import { createAuthService } from "../auth/service.ts";
import { createSessionCache, type SessionCache } from "../auth/session-cache.ts";
import { signingKey } from "../auth/signing-key.ts";
import { createTokenIssuer } from "../auth/tokens.ts";
import type { HeraldConfig } from "../config.ts";
import { secret } from "../config-kit.ts";
import { type ApiContext, type Feature, topicsOf } from "../feature.ts";
import type { Sql } from "../infra/db/sql.ts";
import { createHeraldRuntime, type HeraldRuntime } from "../infra/effect-runtime.ts";
import type { Logger } from "../infra/log.ts";
import type { UpstashRedis } from "../infra/redis/client.ts";
import { createDestinationGuard, type DestinationGuard, guardSettings } from "../outbound/guard.ts";
import { createSenders, type Senders, senderSettings } from "../outbound/senders/index.ts";
import { createRealtimeHub } from "../realtime/hub.ts";
import { realtimeSockets } from "../realtime/sockets.ts";

/** Built for every role: what both the API and the worker use. */
export interface Platform {
	readonly runtime: HeraldRuntime;
	readonly senders: Senders;
	readonly guard: DestinationGuard;
	/** Stops the senders' pools and disposes the runtime. */
	dispose(): Promise<void>;
}

export function createPlatform(deps: {
	config: HeraldConfig;
	redis: UpstashRedis;
	log: Logger;
	/** Redis key prefix for circuits and limits (tests isolate themselves with it). */
	redisPrefix?: string;
}): Platform {
	const { config, redis, log } = deps;
	const runtime = createHeraldRuntime(
		redis,
		{
			breakerFailures: config.delivery.breakerFailures,
			breakerOpenMs: config.delivery.breakerOpenMs,
			prefix: deps.redisPrefix,
		},
		log,
	);
	const senders = createSenders(senderSettings(config.delivery));
	const guard = createDestinationGuard(redis, guardSettings(config.delivery), log, runtime);
	return {
		runtime,
		senders,
		guard,
		async dispose() {
			try {
				await senders.close();
			} finally {
				await runtime.dispose();
			}
		},
	};
}

export interface ApiRuntime extends ApiContext {
	/** The live-session cache (its state is on /api/v1/health). */
	readonly sessionCache: SessionCache;
	/** Closes every socket and unlistens (the platform is disposed by its owner). */
	dispose(): Promise<void>;
}

/** The context every feature's routes receive; starts the realtime hub's listener. */
export function createApiContext(deps: {
	config: HeraldConfig;
	sql: Sql;
	redis: UpstashRedis;
	temporal: Client;
	log: Logger;
	platform: Platform;
	features: readonly Feature[];
}): ApiRuntime {
	const { config, sql, log, platform } = deps;
	const a = config.auth;
	const tokens = createTokenIssuer({
		issuer: a.issuer,
		audience: a.audience,
		ttlSeconds: a.accessTokenTtlSeconds,
		clockToleranceSeconds: a.clockToleranceSeconds,
		key: signingKey(config),
	});
	const externals: ExternalVerifier[] = [];
	if (Option.isSome(a.supabaseJwtSecret) && Option.isSome(a.supabaseIssuer))
		externals.push(
			supabaseVerifier({
				secret: secret(a.supabaseJwtSecret.value),
				issuer: a.supabaseIssuer.value,
				audience: a.supabaseAudience,
				clockToleranceSeconds: a.clockToleranceSeconds,
			}),
		);
	if (Option.isSome(a.jwksUrl) && Option.isSome(a.jwksIssuer) && Option.isSome(a.jwksAudience))
		externals.push(
			jwksVerifier({
				url: a.jwksUrl.value,
				issuer: a.jwksIssuer.value,
				audience: a.jwksAudience.value,
				algorithms: a.jwksAlgorithms,
				clockToleranceSeconds: a.clockToleranceSeconds,
			}),
		);
	const limiter = createAuthRateLimiter(
		platform.runtime,
		deps.redis,
		{
			perAccount: a.loginLimitPerAccount,
			perAddress: a.loginLimitPerAddress,
			windowSeconds: a.limitWindowSeconds,
		},
		log,
	);
	const sessionCache = createSessionCache({
		sql,
		log,
		settings: {
			maxEntries: a.cacheMaxEntries,
			ttlSeconds: a.cacheTtlSeconds,
			barrierTimeoutMs: a.cacheBarrierTimeoutMs,
			heartbeatMs: a.cacheHeartbeatMs,
		},
	});
	const auth = createAuthService({
		sql,
		tokens,
		externals,
		refreshTokenTtlDays: a.refreshTokenTtlDays,
		cache: sessionCache,
	});
	const topics = deps.features.flatMap((f) => topicsOf(f, { config, redis: deps.redis }));
	const realtime = createRealtimeHub({ sql, log, topics });
	realtime.start();
	return {
		config,
		sql,
		redis: deps.redis,
		temporal: deps.temporal,
		log,
		auth,
		tokens,
		limiter,
		guard: platform.guard,
		senders: platform.senders,
		realtime,
		sockets: realtimeSockets({ auth, realtime }),
		sessionCache,
		async dispose() {
			try {
				await realtime.stop();
			} finally {
				await sessionCache.stop();
			}
		},
	};
}
