/** The fitness feature's configuration section. */
import { Config } from "effect";
import type { HeraldConfig } from "../config.ts";
import { int, list, optStr } from "../config-kit.ts";

export const fitnessConfig = Config.all({
	/** After a competition's end, syncs of in-window data are still taken this long; then it freezes. */
	graceSeconds: int("FITNESS_GRACE_SECONDS", 3600),
	/** After the freeze, participants may dispute this long; distribution waits for it to pass. */
	disputeWindowSeconds: int("FITNESS_DISPUTE_WINDOW_SECONDS", 86_400),
	/** How far in the future an activity may end (device clocks drift). */
	futureToleranceSeconds: int("FITNESS_FUTURE_TOLERANCE_SECONDS", 300),
	/** The GET leaderboard's in-process cache (single flight per competition). */
	leaderboardCacheMs: int("LEADERBOARD_CACHE_MS", 500),
	/** A WebSocket gets at most one leaderboard update per this interval, however many syncs arrive. */
	leaderboardPushIntervalMs: int("LEADERBOARD_PUSH_INTERVAL_MS", 250),
	/** A WebSocket whose unsent bytes pass this is closed (4429); the client reconnects and resnapshots. */
	leaderboardSocketMaxBufferedBytes: int("LEADERBOARD_SOCKET_MAX_BUFFERED_BYTES", 1_048_576),
	/** The payout provider's endpoint: POST, JSON, `Idempotency-Key: payout:<allocation id>`. */
	payoutProviderUrl: optStr("PAYOUT_PROVIDER_URL"),
	/** Hosts, IPs or CIDRs the payout provider may resolve to although private (tests, a sidecar). */
	payoutAllowPrivate: list("PAYOUT_ALLOW_PRIVATE", ""),
	payoutTimeoutMs: int("PAYOUT_TIMEOUT_MS", 15_000),
});

export type FitnessSettings = typeof fitnessConfig extends Config.Config<infer A> ? A : never;

export const FITNESS = "fitness";

export const fitnessSettings = (config: HeraldConfig): FitnessSettings => {
	const section = config.sections[FITNESS] as FitnessSettings | undefined;
	if (!section) throw new Error("fitness: configuration section missing");
	return section;
};
