/**
 * A freeze and a sync of the same competition in either order: a sync that
 * reaches the competition while a freeze holds it waits, then sees it frozen
 * (409), so no score changes after the standings snapshot.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { join, openCompetition, sync, walk } from "./support/fitness.ts";
import { holdTransaction, waitingForLock } from "./support/sync.ts";
import { type Registered, register } from "./support/tokens.ts";

let t: TestApp;
let organiser: Registered;
let runner: Registered;

beforeAll(async () => {
	t = await startTestApp();
	organiser = await register(t);
	runner = await register(t);
});
afterAll(async () => {
	await t.stop();
});

test("a sync behind a freeze's lock waits for it and is refused as frozen; the score is untouched", async () => {
	const c = await openCompetition(t, organiser.accessToken);
	await join(t, runner.accessToken, c.id);
	// As freeze() does: the competition row for update, frozen_at set, not yet committed.
	const hold = await holdTransaction(t, async (tx) => {
		await tx`select id from competitions where id = ${c.id} for update`;
		await tx`update competitions set frozen_at = now() where id = ${c.id}`;
	});
	const pending = sync(t, runner.accessToken, [walk("watch", "w-1", 4000)]);
	await waitingForLock(t, "%for share%");
	await hold.release();
	const res = await pending;
	expect(res.status).toBe(409);
	const scores = await t.db
		.sql`select 1 from competition_scores where competition_id = ${c.id} and score > 0`;
	expect(scores.length).toBe(0);
});
