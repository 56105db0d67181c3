/**
 * The competition actor calculates the prizes of the latest snapshot
 * whenever it has none, not only right after its own freeze:
 *
 * - a worker killed between the freeze's commit and the calculation leaves a
 *   frozen competition without a calculation (here: the freeze run alone, as
 *   the killed attempt left it); the actor, started by the bridge, calculates;
 * - a transient failure of the calculation (the database refuses the insert
 *   while the test says so) fails the activity, and Temporal retries it until
 *   it succeeds; it is not swallowed as if it were the domain's refusal.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { BridgeHandle } from "../src/bridge/bridge.ts";
import { freeze } from "../src/fitness/standings.ts";
import { type Actors, startActors } from "./support/actors.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { HOUR, join, openCompetition, sync, walk } from "./support/fitness.ts";
import { type Registered, register } from "./support/tokens.ts";
import { eventually } from "./support/wait.ts";

let t: TestApp;
let actors: Actors;
let bridge: BridgeHandle | undefined;
let organiser: Registered;

beforeAll(async () => {
	t = await startTestApp({ FITNESS_GRACE_SECONDS: "1" });
	actors = await startActors(t.db.sql, "calc-repair", { env: { FITNESS_GRACE_SECONDS: "1" } });
	organiser = await register(t);
}, 60_000);

afterAll(async () => {
	await bridge?.stop();
	await actors?.stop();
	await t?.stop();
});

async function ensureBridge() {
	bridge ??= await actors.bridge(t.db.sql, 200);
}

/** A competition with two scored participants that ended a minute ago (so the grace period is over). */
async function endedCompetition(): Promise<string> {
	const c = await openCompetition(t, organiser.accessToken, {
		startsAt: new Date(Date.now() - 2 * HOUR).toISOString(),
		prizePoolMinor: 1_000,
		payoutBps: [7000, 3000],
	});
	for (const [i, u] of (await Promise.all([register(t), register(t)])).entries()) {
		await join(t, u.accessToken, c.id);
		expect((await sync(t, u.accessToken, [walk("watch", "w", 2000 - i * 500)])).status).toBe(200);
	}
	await t.db
		.sql`update competitions set ends_at = now() - interval '1 minute', status = 'finished' where id = ${c.id}`;
	return c.id;
}

const calculations = (id: string) =>
	t.db.sql<{ status: string; version: number; total_minor: number }[]>`
		select p.status, s.version, p.total_minor::float8 as total_minor
		from prize_calculations p join standings_snapshots s on s.id = p.snapshot_id
		where p.competition_id = ${id}`;

describe("the competition actor's calculation", () => {
	test("a freeze without its calculation (killed between them) is calculated by the actor", async () => {
		const id = await endedCompetition();
		// What a worker killed after the freeze's commit leaves: frozen, snapshot 1, no calculation.
		expect(await freeze(t.db.sql, id)).toBeString();
		expect([...(await calculations(id))]).toEqual([]);

		await ensureBridge(); // delivers the competition's changes: its actor starts and syncs
		const [calc] = await eventually(
			async () => {
				const rows = await calculations(id);
				return rows.length > 0 ? rows : undefined;
			},
			{ what: "the actor's calculation", timeoutMs: 30_000 },
		);
		expect(calc).toEqual({ status: "awaiting_approval", version: 1, total_minor: 1_000 });
		const audit = await t.db.sql<{ action: string; actor_id: string | null }[]>`
			select action, actor_id::text from competition_audit where competition_id = ${id} and action = 'calculated'`;
		expect([...audit]).toEqual([{ action: "calculated", actor_id: null }]);
	}, 60_000);

	test("a transient failure of the calculation is retried, not swallowed", async () => {
		await t.db.sql.unsafe(`
			create table test_calc_blocked (blocked boolean);
			create sequence test_calc_attempts;
			create function test_calc_refuse() returns trigger language plpgsql as $$
			begin
				if exists (select 1 from test_calc_blocked) then
					perform nextval('test_calc_attempts'); -- not rolled back with the failing transaction
					raise exception 'transient: the database refuses this calculation for now';
				end if;
				return new;
			end $$;
			create trigger test_calc_refuse before insert on prize_calculations
				for each row execute function test_calc_refuse();`);
		const attempts = async () => {
			const [s] = await t.db.sql<{ n: number }[]>`
				select case when is_called then last_value else 0 end::int as n from test_calc_attempts`;
			return s!.n;
		};
		await t.db.sql`insert into test_calc_blocked values (true)`; // before the actor can see the end
		const id = await endedCompetition();
		await ensureBridge();
		// The actor froze and tried; the refused attempt is retried (with backoff), again and again.
		await eventually(async () => (await attempts()) >= 2, {
			what: "a second calculation attempt",
			timeoutMs: 30_000,
		});
		const [c] = await t.db.sql`select frozen_at from competitions where id = ${id}`;
		expect(c!.frozen_at).toBeInstanceOf(Date);
		expect([...(await calculations(id))]).toEqual([]);

		await t.db.sql`delete from test_calc_blocked`; // the failure passes
		const [calc] = await eventually(
			async () => {
				const rows = await calculations(id);
				return rows.length > 0 ? rows : undefined;
			},
			{ what: "the calculation after the retry", timeoutMs: 30_000 },
		);
		expect(calc).toEqual({ status: "awaiting_approval", version: 1, total_minor: 1_000 });
	}, 60_000);
});
