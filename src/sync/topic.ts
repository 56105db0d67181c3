/**
 * The `sync` realtime topic (key: the user id): every commit that changes a
 * user's synced rows (REST or push; NOTIFY `herald_sync_poke` from
 * herald_sync_version, delivered at commit) pokes the user's connected
 * devices with the new version's cookie. A device pulls when the poke's
 * cookie is newer than its own (the pushing device, which adopted the push's
 * cookie, has nothing to pull).
 */
import type { Topic } from "../realtime/hub.ts";
import { baselineCookie } from "./cookie.ts";

export const SYNC_TOPIC = "sync";
export const POKE_CHANNEL = "herald_sync_poke";

export const syncTopic: Topic = {
	name: SYNC_TOPIC,
	channels: [POKE_CHANNEL],
	onNotify(_channel, text, topic) {
		let poke: { userId?: unknown; version?: unknown };
		try {
			poke = JSON.parse(text);
		} catch {
			return;
		}
		if (typeof poke.userId !== "string" || typeof poke.version !== "number") return;
		if (topic.has(poke.userId))
			topic.send(poke.userId, { type: "poke", cookie: baselineCookie(poke.version) });
	},
};
