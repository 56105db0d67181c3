/**
 * Resolves the three backing services. Each configured address wins; when one
 * is missing and `embedded` is allowed (dev, tests) Herald starts its own:
 * embedded PostgreSQL, the Temporal CLI dev server, redis-server behind the
 * Upstash-compatible gateway. Production roles get a one-line error instead.
 */
import { join, resolve } from "node:path";
import { Option } from "effect";
import { ConfigInvalid, type HeraldConfig, secret } from "../config.ts";
import { startMailCatcher } from "../infra/embedded/mail-catcher.ts";
import { startEmbeddedPostgres } from "../infra/embedded/postgres.ts";
import { startRedisGateway } from "../infra/embedded/redis-gateway.ts";
import { startRedisServer } from "../infra/embedded/redis-server.ts";
import { findTemporalCli } from "../infra/embedded/temporal-cli.ts";
import { startTemporalDevServer } from "../infra/embedded/temporal-dev-server.ts";
import type { Logger } from "../infra/log.ts";
import { freePort } from "../infra/process.ts";

export interface Infra {
	readonly databaseUrl: string;
	readonly temporalAddress: string;
	readonly temporalUiUrl: string | undefined;
	/** `dev` without SMTP_HOST: the mail catcher's web inbox. */
	readonly mailUiUrl?: string;
	readonly redisRestUrl: string;
	readonly redisRestToken: string;
	/** Stops what this process started, in reverse order. */
	stop(): Promise<void>;
}

export interface InfraOptions {
	embedded: boolean;
	/** Tests: random ports, headless in-memory Temporal. */
	ephemeral?: boolean;
	/** `migrate` needs only PostgreSQL. */
	databaseOnly?: boolean;
	log: Logger;
}

export async function resolveInfra(config: HeraldConfig, options: InfraOptions): Promise<Infra> {
	const stops: Array<() => Promise<void>> = [];
	const stop = async () => {
		for (const s of stops.reverse()) await s().catch((e) => options.log.warn("stop failed", { error: e }));
		stops.length = 0;
	};
	const dataDir = resolve(config.dataDir);
	const require = (name: string) => {
		if (!options.embedded) throw new ConfigInvalid(`config: ${name} is required for this role`);
	};
	try {
		const settled = await Promise.allSettled([
			(async () => {
				if (Option.isSome(config.database.url)) return secret(config.database.url.value);
				require("DATABASE_URL");
				const pg = await startEmbeddedPostgres({
					dataDir: join(dataDir, options.ephemeral ? `postgres-${process.pid}` : "postgres"),
					port: options.ephemeral ? freePort() : config.database.embeddedPort,
					ephemeral: options.ephemeral,
					onLog: (line) => options.log.debug(line, { component: "postgres" }),
				});
				stops.push(pg.stop);
				options.log.info("embedded postgres started", { port: new URL(pg.url).port });
				return pg.url;
			})(),
			(async () => {
				if (options.databaseOnly) return { address: "", uiUrl: undefined };
				if (Option.isSome(config.temporal.address))
					return { address: config.temporal.address.value, uiUrl: undefined };
				require("TEMPORAL_ADDRESS");
				const server = await startTemporalDevServer({
					cliPath: findTemporalCli(Option.getOrUndefined(config.temporal.cliPath)),
					dbFile: options.ephemeral ? undefined : join(dataDir, "temporal", "temporal.db"),
					port: options.ephemeral ? freePort() : config.temporal.devServerPort,
					uiPort: config.temporal.uiPort,
					headless: options.ephemeral,
					onLog: (line) => options.log.debug(line, { component: "temporal-dev-server" }),
				});
				stops.push(server.stop);
				options.log.info("temporal dev server started", { address: server.address, ui: server.uiUrl });
				return server;
			})(),
			(async () => {
				if (options.databaseOnly) return { url: "", token: "" };
				if (Option.isSome(config.redis.restUrl) && Option.isSome(config.redis.restToken))
					return { url: config.redis.restUrl.value, token: secret(config.redis.restToken.value) };
				let redisUrl: string;
				if (Option.isSome(config.redis.url)) redisUrl = secret(config.redis.url.value);
				else {
					require("UPSTASH_REDIS_REST_URL (or REDIS_URL)");
					const server = await startRedisServer({
						dataDir: join(dataDir, options.ephemeral ? `redis-${process.pid}` : "redis"),
						port: options.ephemeral ? undefined : config.redis.embeddedPort,
					});
					stops.push(server.stop);
					redisUrl = server.url;
				}
				const token = crypto.randomUUID();
				const gateway = await startRedisGateway({
					redisUrl,
					token,
					hostname: "127.0.0.1",
					port: options.ephemeral ? 0 : config.redis.gatewayPort,
				});
				stops.push(gateway.stop);
				options.log.info("redis rest gateway started", { url: gateway.url });
				return { url: gateway.url, token };
			})(),
		] as const);
		let mailUiUrl: string | undefined;
		if (options.embedded && !options.ephemeral && !options.databaseOnly && !config.delivery.smtpConfigured) {
			const mail = await startMailCatcher({
				smtpPort: config.delivery.smtpPort,
				uiPort: config.delivery.mailUiPort,
			});
			stops.push(mail.stop);
			mailUiUrl = mail.uiUrl;
			options.log.info("mail catcher started", { smtpPort: mail.smtpPort, inbox: mail.uiUrl });
		}
		const failed = settled.find((r) => r.status === "rejected");
		if (failed) throw failed.reason;
		const [databaseUrl, temporal, redis] = settled.map(
			(r) => (r as PromiseFulfilledResult<unknown>).value,
		) as [string, { address: string; uiUrl: string | undefined }, { url: string; token: string }];
		return {
			databaseUrl,
			temporalAddress: temporal.address,
			temporalUiUrl: temporal.uiUrl,
			mailUiUrl,
			redisRestUrl: redis.url,
			redisRestToken: redis.token,
			stop,
		};
	} catch (error) {
		await stop();
		throw error;
	}
}
