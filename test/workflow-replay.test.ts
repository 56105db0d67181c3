/**
 * Upgrades keep running workflows alive: histories recorded by release 0.1
 * (before the actor kit, namespaced activities, stale-change reloads and
 * cancellation notices) replay on today's workflow code without a
 * nondeterminism error. Recorded with the 0.1 worker: an event actor through
 * registrations, a cancellation that promoted the waitlist, an edit; and the
 * delivery workflow it started; and the reminder actor (added with it, recorded by
 * test/fixtures/record-reminder-history.ts: a daily series across the spring
 * DST change with offsets, a snooze, a schedule edit, a cancel); and trigger
 * action runs from before their start and settle became local activities
 * (test/fixtures/record-action-run-history.ts: a retried success, a 410). Add a
 * history here whenever a workflow changes.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { temporal } from "@temporalio/proto";
import { Worker } from "@temporalio/worker";
import { WORKFLOWS_PATH } from "../src/app/worker.ts";

const history = (name: string) =>
	temporal.api.history.v1.History.decode(
		readFileSync(join(import.meta.dir, "fixtures", "histories", `${name}.bin`)),
	);

describe("replay of recorded histories", () => {
	for (const name of [
		"event-actor-0.1",
		"deliver-notification-0.1",
		"reminder-actor-0.1",
		"action-run-succeeded-0.2",
		"action-run-failed-0.2",
	])
		test(`${name} replays on today's code`, async () => {
			const recorded = history(name);
			expect(recorded.events?.length ?? 0).toBeGreaterThan(10);
			await Worker.runReplayHistory(
				{ workflowsPath: WORKFLOWS_PATH, bundlerOptions: { ignoreModules: [] } },
				recorded,
			);
		}, 60_000);
});
