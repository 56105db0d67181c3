/**
 * The one place Herald reads its environment. Every variable is listed in the
 * README's configuration table; `loadConfig` fails with a one-line message
 * naming the variable when a value is malformed.
 */
import { Config, ConfigProvider, Effect, Option } from "effect";
import { ConfigInvalid, int, list, type Mode, optSecret, optStr, str } from "./config-kit.ts";
import { deliveryPolicies } from "./deliveries/policy.ts";
import type { Feature } from "./feature.ts";
import { features } from "./features.ts";

export { ConfigInvalid, type Mode, redactedView, secret } from "./config-kit.ts";

const CoreConfig = Config.all({
	mode: Config.Literals(["development", "production", "test"], "HERALD_ENV").pipe(
		Config.withDefault("production" as Mode),
	),
	host: str("HOST", "0.0.0.0"),
	port: Config.Port("PORT").pipe(Config.withDefault(3000)),
	logLevel: Config.Literals(["debug", "info", "warn", "error", "silent"], "LOG_LEVEL").pipe(
		Config.withDefault("info" as const),
	),
	corsOrigins: list("CORS_ORIGINS", "*"),
	bodyLimitBytes: int("BODY_LIMIT_BYTES", 1_048_576),
	shutdownTimeoutMs: int("SHUTDOWN_TIMEOUT_MS", 15_000),
	/** Every role serves `/metrics` (Prometheus) and `/health` here; 0 turns it off. */
	metricsPort: int("METRICS_PORT", 9464),
	metricsHost: str("METRICS_HOST", "0.0.0.0"),
	/** Tracing: spans go over OTLP/HTTP to `<endpoint>/v1/traces` when set (Jaeger, any collector). */
	otel: Config.all({
		endpoint: optStr("OTEL_EXPORTER_OTLP_ENDPOINT"),
		serviceName: optStr("OTEL_SERVICE_NAME"),
	}),
	dataDir: str("HERALD_DATA_DIR", ".herald"),
	database: Config.all({
		url: optSecret("DATABASE_URL"),
		poolMax: int("DATABASE_POOL_MAX", 10),
		embeddedPort: Config.Port("EMBEDDED_POSTGRES_PORT").pipe(Config.withDefault(54329)),
	}),
	temporal: Config.all({
		address: optStr("TEMPORAL_ADDRESS"),
		namespace: str("TEMPORAL_NAMESPACE", "default"),
		taskQueue: str("TEMPORAL_TASK_QUEUE", "herald"),
		cliPath: optStr("TEMPORAL_CLI_PATH"),
		devServerPort: Config.Port("TEMPORAL_DEV_PORT").pipe(Config.withDefault(7233)),
		uiPort: Config.Port("TEMPORAL_UI_PORT").pipe(Config.withDefault(8233)),
		/**
		 * Workflows a worker keeps in memory between tasks (sticky cache). The SDK's default
		 * derives it from V8's heap limit, which Bun reports as ~268 MiB: 39 workflows, so
		 * every signal to any other actor replayed its whole history.
		 */
		workerMaxCachedWorkflows: int("WORKER_MAX_CACHED_WORKFLOWS", 2000),
	}),
	redis: Config.all({
		restUrl: optStr("UPSTASH_REDIS_REST_URL"),
		restToken: optSecret("UPSTASH_REDIS_REST_TOKEN"),
		url: optSecret("REDIS_URL"),
		gatewayPort: Config.Port("REDIS_GATEWAY_PORT").pipe(Config.withDefault(8079)),
		embeddedPort: Config.Port("EMBEDDED_REDIS_PORT").pipe(Config.withDefault(6390)),
	}),
	bridgePollMs: int("BRIDGE_POLL_MS", 5000),
	bridgeBatchTimeoutMs: int("BRIDGE_BATCH_TIMEOUT_MS", 5000),
	/** Bridge batches in flight at once (over disjoint entities) and signals in flight over all of them. */
	bridgeConcurrency: int("BRIDGE_CONCURRENCY", 8),
	bridgeMaxSignals: int("BRIDGE_MAX_SIGNALS", 64),
	/** The event bus: with NATS_URL the bridge also publishes every change to JetStream. */
	nats: Config.all({
		url: optSecret("NATS_URL"),
		stream: str("NATS_STREAM", "HERALD"),
		subjectPrefix: str("NATS_SUBJECT_PREFIX", "herald"),
		duplicateWindowSeconds: int("NATS_DUPLICATE_WINDOW_SECONDS", 600),
	}),
	delivery: Config.all({
		smtpHost: str("SMTP_HOST", "127.0.0.1"),
		smtpPort: Config.Port("SMTP_PORT").pipe(Config.withDefault(1025)),
		/** `dev` without SMTP_HOST: the web inbox of its mail catcher. */
		mailUiPort: Config.Port("MAIL_UI_PORT").pipe(Config.withDefault(8025)),
		smtpSecure: Config.Boolean("SMTP_SECURE").pipe(Config.withDefault(false)),
		smtpUser: optStr("SMTP_USER"),
		smtpPassword: optSecret("SMTP_PASSWORD"),
		mailFrom: str("MAIL_FROM", "Herald <herald@localhost>"),
		telegramBotToken: optSecret("TELEGRAM_BOT_TOKEN"),
		telegramApiUrl: str("TELEGRAM_API_URL", "https://api.telegram.org"),
		/** Hosts/CIDRs webhooks may reach although private (loopback, 10.x, …); never metadata/link-local. */
		webhookAllowPrivate: list("WEBHOOK_ALLOW_PRIVATE", ""),
		webhookConnectTimeoutMs: int("WEBHOOK_CONNECT_TIMEOUT_MS", 5000),
		webhookTimeoutMs: int("WEBHOOK_TIMEOUT_MS", 15000),
		/** Retry policy per kind: initial interval, backoff, maximum interval, attempts. */
		retryInitialMs: int("DELIVERY_RETRY_INITIAL_MS", 1000),
		retryBackoff: Config.Number("DELIVERY_RETRY_BACKOFF").pipe(Config.withDefault(2)),
		retryMaxIntervalMs: int("DELIVERY_RETRY_MAX_INTERVAL_MS", 300_000),
		retryMaxAttempts: int("DELIVERY_RETRY_MAX_ATTEMPTS", 20),
		/** Per-kind overrides, e.g. "initial=500,backoff=1.5,max=60000,attempts=8". */
		retryWebhook: optStr("DELIVERY_RETRY_WEBHOOK"),
		retryEmail: optStr("DELIVERY_RETRY_EMAIL"),
		retryTelegram: optStr("DELIVERY_RETRY_TELEGRAM"),
		breakerFailures: int("BREAKER_FAILURES", 5),
		breakerOpenMs: int("BREAKER_OPEN_MS", 30_000),
		telegramPerChatPerSecond: int("TELEGRAM_PER_CHAT_PER_SECOND", 1),
		telegramGlobalPerSecond: int("TELEGRAM_GLOBAL_PER_SECOND", 30),
	}),
	auth: Config.all({
		jwtSecret: optSecret("AUTH_JWT_SECRET"),
		jwtPrivateKey: optSecret("AUTH_JWT_PRIVATE_KEY"),
		issuer: str("AUTH_ISSUER", "herald"),
		audience: str("AUTH_AUDIENCE", "herald"),
		accessTokenTtlSeconds: int("ACCESS_TOKEN_TTL_SECONDS", 900),
		refreshTokenTtlDays: int("REFRESH_TOKEN_TTL_DAYS", 30),
		clockToleranceSeconds: int("AUTH_CLOCK_TOLERANCE_SECONDS", 5),
		supabaseJwtSecret: optSecret("SUPABASE_JWT_SECRET"),
		supabaseIssuer: optStr("SUPABASE_JWT_ISSUER"),
		supabaseAudience: str("SUPABASE_JWT_AUDIENCE", "authenticated"),
		jwksUrl: optStr("AUTH_JWKS_URL"),
		jwksIssuer: optStr("AUTH_JWKS_ISSUER"),
		jwksAudience: optStr("AUTH_JWKS_AUDIENCE"),
		jwksAlgorithms: list("AUTH_JWKS_ALGORITHMS", "RS256,ES256,EdDSA"),
		adminEmail: optStr("ADMIN_EMAIL"),
		adminPassword: optSecret("ADMIN_PASSWORD"),
		loginLimitPerAccount: int("AUTH_LIMIT_PER_ACCOUNT", 10),
		loginLimitPerAddress: int("AUTH_LIMIT_PER_ADDRESS", 50),
		limitWindowSeconds: int("AUTH_LIMIT_WINDOW_SECONDS", 900),
		trustProxy: Config.Boolean("TRUST_PROXY").pipe(Config.withDefault(false)),
		/** Live sessions kept in memory per API process (0 = off: every check reads the database). */
		cacheMaxEntries: int("AUTH_CACHE_MAX_ENTRIES", 100_000),
		cacheTtlSeconds: int("AUTH_CACHE_TTL_SECONDS", 60),
		cacheBarrierTimeoutMs: int("AUTH_CACHE_BARRIER_TIMEOUT_MS", 2000),
		cacheHeartbeatMs: int("AUTH_CACHE_HEARTBEAT_MS", 1000),
	}),
});

type ParsedCore = typeof CoreConfig extends Config.Config<infer A> ? A : never;
type CoreConfig = Omit<ParsedCore, "delivery"> & {
	readonly delivery: ParsedCore["delivery"] & { readonly smtpConfigured: boolean };
};

/** The platform's settings, plus each feature's own section under `sections` (read with `sectionOf`). */
export type HeraldConfig = CoreConfig & { readonly sections: Readonly<Record<string, unknown>> };

/** A feature's configuration section, as its `config` descriptor parsed it. */
export function sectionOf<F extends Feature>(config: HeraldConfig, feature: F): FeatureSection<F> {
	return config.sections[feature.name] as FeatureSection<F>;
}
export type FeatureSection<F> = F extends { config: Config.Config<infer C> } ? C : never;

/** `dev` lets webhooks reach loopback receivers people run locally; production roles refuse them. */
export function loadRoleConfig(role: string): HeraldConfig {
	const env = process.env;
	const dev = role === "dev";
	return loadConfig(
		env,
		dev
			? {
					HERALD_ENV: env.HERALD_ENV ?? "development",
					WEBHOOK_ALLOW_PRIVATE: env.WEBHOOK_ALLOW_PRIVATE ?? "127.0.0.0/8,::1,localhost",
				}
			: {},
	);
}

/** Parses the environment; throws `ConfigInvalid` with one line naming the variable. */
export function loadConfig(
	env: Record<string, string | undefined> = process.env,
	overrides: Partial<Record<string, string>> = {},
	withFeatures: readonly Feature[] = features,
): HeraldConfig {
	const merged: Record<string, string> = {};
	for (const [k, v] of Object.entries({ ...env, ...overrides }))
		if (v !== undefined && v !== "") merged[k] = v;
	const provider = ConfigProvider.fromEnv({ env: merged });
	const sections = Config.all(
		Object.fromEntries(withFeatures.flatMap((f) => (f.config ? [[f.name, f.config]] : []))),
	);
	const result = Effect.runSyncExit(Config.all({ core: CoreConfig, sections }).parse(provider));
	if (result._tag === "Success") {
		const core = result.value.core;
		const cfg: HeraldConfig = {
			...core,
			// Whether an SMTP server was named: `dev` starts its mail catcher only when not.
			delivery: { ...core.delivery, smtpConfigured: merged.SMTP_HOST !== undefined },
			sections: result.value.sections,
		};
		if (
			Option.isSome(cfg.auth.jwksUrl) &&
			(Option.isNone(cfg.auth.jwksIssuer) || Option.isNone(cfg.auth.jwksAudience))
		)
			throw new ConfigInvalid("config: AUTH_JWKS_URL needs AUTH_JWKS_ISSUER and AUTH_JWKS_AUDIENCE");
		if (Option.isSome(cfg.auth.supabaseJwtSecret) && Option.isNone(cfg.auth.supabaseIssuer))
			throw new ConfigInvalid("config: SUPABASE_JWT_SECRET needs SUPABASE_JWT_ISSUER");
		for (const [name, external] of [
			["SUPABASE_JWT_ISSUER", cfg.auth.supabaseIssuer],
			["AUTH_JWKS_ISSUER", cfg.auth.jwksIssuer],
		] as const)
			if (Option.isSome(external) && external.value === cfg.auth.issuer)
				throw new ConfigInvalid(`config: ${name} must differ from AUTH_ISSUER`);
		if (Option.isSome(cfg.auth.adminEmail) !== Option.isSome(cfg.auth.adminPassword))
			throw new ConfigInvalid("config: ADMIN_EMAIL and ADMIN_PASSWORD must be set together");
		if (Option.isSome(cfg.redis.restUrl) !== Option.isSome(cfg.redis.restToken))
			throw new ConfigInvalid(
				"config: UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must be set together",
			);
		deliveryPolicies(cfg.delivery); // a malformed DELIVERY_RETRY_* stops start-up, not the first delivery
		return cfg;
	}
	throw new ConfigInvalid(`config: ${oneLine(String(result.cause))}`);
}

function oneLine(message: string): string {
	const variable = message.match(/at \["?([A-Za-z_]+)"?\]/)?.[1];
	const expected =
		message.match(/(Expected [^\n)]*|Missing[^\n)]*)/)?.[1] ?? message.split("\n")[0] ?? message;
	return variable ? `${variable}: ${expected.trim()}` : expected.trim();
}
