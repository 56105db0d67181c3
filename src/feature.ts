/**
 * What a domain contributes to Herald. Each domain folder exports one
 * `feature` value; `src/features.ts` lists them, and the composition root
 * (`src/app/`) loops over that list to build the API, the worker, the
 * bridge's routes, the cleanup, the reconciler, the realtime topics and the
 * configuration. A domain never imports `src/app/`: what it needs arrives as
 * an `ApiContext` or a `WorkerContext`.
 */
import type { Client } from "@temporalio/client";
import type { Config } from "effect";
import { type AnyElysia, Elysia } from "elysia";
import type { ActorDefinition } from "../workflows/kit/actor.ts";
import type { AuthRateLimiter } from "./auth/rate-limit.ts";
import type { AuthService } from "./auth/service.ts";
import type { TokenIssuer } from "./auth/tokens.ts";
import type { HeraldConfig } from "./config.ts";
import type { Sql } from "./infra/db/sql.ts";
import type { Logger } from "./infra/log.ts";
import type { UpstashRedis } from "./infra/redis/client.ts";
import type { DestinationGuard } from "./outbound/guard.ts";
import type { Senders } from "./outbound/senders/index.ts";
import type { ChannelKind, Sender } from "./outbound/types.ts";
import type { RealtimeHub, Topic } from "./realtime/hub.ts";
import type { RealtimeSockets } from "./realtime/sockets.ts";

/** What the API hands every feature's routes: platform services, built once per process. */
export interface ApiContext {
	readonly config: HeraldConfig;
	readonly sql: Sql;
	readonly redis: UpstashRedis;
	/** Queries to actors (e.g. an event's reminder schedule). */
	readonly temporal: Client;
	readonly log: Logger;
	readonly auth: AuthService;
	readonly tokens: TokenIssuer;
	readonly limiter: AuthRateLimiter;
	/** Delivery circuits and rate limits in Redis, shared with the workers. */
	readonly guard: DestinationGuard;
	readonly senders: Senders;
	/** The process's one LISTEN connection and its WebSocket fan-out by topic. */
	readonly realtime: RealtimeHub;
	/** The WebSocket side of the hub: `socket` macro, open/close by topic and key. */
	readonly sockets: RealtimeSockets;
}

/** What the worker hands every feature's activities. */
export interface WorkerContext {
	readonly config: HeraldConfig;
	readonly sql: Sql;
	/** For activities that start or signal workflows (the reconciler). */
	readonly temporal: Client;
	readonly taskQueue: string;
	readonly log: Logger;
	/** Outbound transport; absent on workers built without it (tests that only plan). */
	readonly outbound?: {
		readonly senders: Record<ChannelKind, Sender>;
		readonly guard: Pick<DestinationGuard, "run" | "limitsFor">;
	};
	/** Every feature, for platform activities that serve them all (cleanup, reconcile). */
	readonly features: readonly Feature[];
}

export type Activities = Record<string, (...args: any[]) => Promise<any>>;

/**
 * One statement that removes what is past its time; returns how many rows it
 * removed (a check returns how many problems it logged to `log`).
 */
export type CleanupTask = (sql: Sql, config: HeraldConfig, log?: Logger) => Promise<number>;

export type Operation = "INSERT" | "UPDATE" | "DELETE";

/**
 * An actor fed by the outbox: the captured tables whose changes it hears (the
 * capture trigger in the feature's migration names each table's entity
 * column), and which entities should have it running (for the reconciler).
 */
export interface ActorBinding {
	readonly actor: ActorDefinition;
	readonly tables: readonly string[];
	/** Default: all three. */
	readonly operations?: readonly Operation[];
	/** Keys of live entities, in key order, after `after` (keyset pages for the reconciler). */
	liveKeys(sql: Sql, after: string, limit: number): Promise<string[]>;
}

export interface Feature {
	/** The domain's name: its section in the configuration, the namespace of its activities. */
	readonly name: string;
	/** Its configuration section, validated with everything else at start-up. */
	readonly config?: Config.Config<unknown>;
	readonly routes?: (ctx: ApiContext) => AnyElysia;
	/** Registered as `<name>.<activity>`; workflows reach them with `featureActivities(name)`. */
	readonly activities?: (ctx: WorkerContext) => Activities;
	readonly cleanup?: Readonly<Record<string, CleanupTask>>;
	readonly actors?: readonly ActorBinding[];
	/** Realtime topics; a function when a topic needs platform services (Redis, configuration). */
	readonly topics?: readonly Topic[] | ((ctx: TopicDeps) => readonly Topic[]);
}

/** What a feature's topics may use besides the hub's own context. */
export interface TopicDeps {
	readonly config: HeraldConfig;
	readonly redis: UpstashRedis;
}

/** A feature's topics, built with `deps` when they need them. */
export const topicsOf = (feature: Feature, deps: TopicDeps): readonly Topic[] =>
	typeof feature.topics === "function" ? feature.topics(deps) : (feature.topics ?? []);

/** Keeps the literal types of a feature (its name and config section). */
export const defineFeature = <const F extends Feature>(feature: F): F => feature;

/** Several route plugins as one, each keeping its own prefix (`a.use(b)` would nest b under a's). */
export function routes(...plugins: AnyElysia[]): AnyElysia {
	const all = new Elysia();
	for (const plugin of plugins) all.use(plugin);
	return all;
}
