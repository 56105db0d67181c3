/** Builds what the API's feature routes need, from configuration. */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Client } from "@temporalio/client";
import { Option } from "effect";
import { type ExternalVerifier, jwksVerifier, supabaseVerifier } from "../auth/external.ts";
import { hashPassword } from "../auth/passwords.ts";
import { type AuthRateLimiter, createAuthRateLimiter } from "../auth/rate-limit.ts";
import { type AuthService, createAuthService } from "../auth/service.ts";
import { createTokenIssuer, type TokenIssuer, type TokenSettings } from "../auth/tokens.ts";
import { type ChannelService, createChannelService } from "../channels/service.ts";
import { ConfigInvalid, type HeraldConfig, secret } from "../config.ts";
import { createDeliveryService, type DeliveryService } from "../deliveries/service.ts";
import type { Sql } from "../infra/db/sql.ts";
import type { Logger } from "../infra/log.ts";
import type { UpstashRedis } from "../infra/redis/client.ts";
import { createNotificationService, type NotificationService } from "../notifications/service.ts";
import { createDestinationGuard, type DestinationGuard, guardSettings } from "../outbound/guard.ts";
import { createSenders, type Senders, senderSettings } from "../outbound/senders/index.ts";
import { createRealtimeHub, type RealtimeHub } from "../realtime/hub.ts";
import { createUserService, type UserService } from "../users/service.ts";

export interface ApiServices {
	sql: Sql;
	/** Temporal client: queries to actors (e.g. an event's reminder schedule). */
	temporal: Client;
	log: Logger;
	auth: AuthService;
	users: UserService;
	notifications: NotificationService;
	/** The process's LISTEN connection and WebSocket fan-out; started here, stopped by `dispose`. */
	realtime: RealtimeHub;
	tokens: TokenIssuer;
	limiter: AuthRateLimiter;
	/** Delivery circuits and rate limits in Redis, shared with the workers (admin: list, reset). */
	guard: DestinationGuard;
	/** The caller's delivery channels; email codes go out through `senders.email`. */
	channels: ChannelService;
	deliveries: DeliveryService;
	senders: Senders;
	trustProxy: boolean;
	dispose(): Promise<void>;
}

export function createApiServices(deps: {
	config: HeraldConfig;
	sql: Sql;
	redis: UpstashRedis;
	temporal: Client;
	log: Logger;
	/** Redis key prefix of the rate limiter (tests isolate themselves with it). */
	rateLimitPrefix?: string;
	/** Redis key prefix of delivery circuits; defaults to `<rateLimitPrefix>delivery:` when that is set, else the workers' default. */
	guardPrefix?: string;
}): ApiServices {
	const { config, sql } = deps;
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
		deps.redis,
		{
			perAccount: a.loginLimitPerAccount,
			perAddress: a.loginLimitPerAddress,
			windowSeconds: a.limitWindowSeconds,
		},
		deps.log,
		deps.rateLimitPrefix,
	);
	const guard = createDestinationGuard(
		deps.redis,
		guardSettings(
			config.delivery,
			deps.guardPrefix ?? (deps.rateLimitPrefix ? `${deps.rateLimitPrefix}delivery:` : undefined),
		),
		deps.log,
	);
	const senders = createSenders(senderSettings(config.delivery));
	const realtime = createRealtimeHub({ sql, log: deps.log });
	realtime.start();
	return {
		sql,
		temporal: deps.temporal,
		log: deps.log,
		auth: createAuthService({ sql, tokens, externals, refreshTokenTtlDays: a.refreshTokenTtlDays }),
		users: createUserService({ sql }),
		notifications: createNotificationService({ sql }),
		realtime,
		tokens,
		limiter,
		guard,
		channels: createChannelService({
			sql,
			email: senders.email,
			webhookAllowPrivate: config.delivery.webhookAllowPrivate,
			log: deps.log,
		}),
		deliveries: createDeliveryService({ sql }),
		senders,
		trustProxy: a.trustProxy,
		async dispose() {
			try {
				await realtime.stop();
			} finally {
				await Promise.all([limiter.dispose(), guard.dispose(), senders.close()]);
			}
		},
	};
}

/**
 * AUTH_JWT_PRIVATE_KEY (EdDSA) or AUTH_JWT_SECRET (HS256). Without either,
 * `dev` keeps a generated secret in its data folder (tokens survive restarts)
 * and tests use a random one; production refuses to start.
 */
function signingKey(config: HeraldConfig): TokenSettings["key"] {
	const a = config.auth;
	if (Option.isSome(a.jwtPrivateKey))
		return { kind: "ed25519", privateKeyPem: secret(a.jwtPrivateKey.value) };
	if (Option.isSome(a.jwtSecret)) {
		const value = secret(a.jwtSecret.value);
		if (new TextEncoder().encode(value).length < 32)
			throw new ConfigInvalid("config: AUTH_JWT_SECRET must be at least 32 bytes");
		return { kind: "secret", secret: value };
	}
	if (config.mode === "test") return { kind: "secret", secret: randomSecret() };
	if (config.mode === "development") {
		const file = join(resolve(config.dataDir), "jwt-secret");
		if (!existsSync(file)) {
			mkdirSync(dirname(file), { recursive: true });
			writeFileSync(file, randomSecret(), { mode: 0o600 });
			chmodSync(file, 0o600);
		}
		return { kind: "secret", secret: readFileSync(file, "utf8").trim() };
	}
	throw new ConfigInvalid("config: AUTH_JWT_SECRET (or AUTH_JWT_PRIVATE_KEY) is required for this role");
}

const randomSecret = () => Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url");

/** ADMIN_EMAIL + ADMIN_PASSWORD: the first administrator, created or promoted at start-up. Idempotent. */
export async function bootstrapAdmin(sql: Sql, config: HeraldConfig, log: Logger): Promise<void> {
	const { adminEmail, adminPassword } = config.auth;
	if (Option.isNone(adminEmail) || Option.isNone(adminPassword)) return;
	const hash = await hashPassword(secret(adminPassword.value));
	const [row] = await sql<{ id: string; created: boolean }[]>`
		insert into users (email, password_hash, display_name, role)
		values (${adminEmail.value}, ${hash}, 'Administrator', 'admin')
		on conflict (lower(email)) where email is not null
		do update set role = 'admin', password_hash = coalesce(users.password_hash, excluded.password_hash)
		returning id, (xmax = 0) as created`;
	log.info(row!.created ? "administrator created" : "administrator ensured", { userId: row!.id });
}
