-- Fitness competitions (seed 003). Postgres is the source of truth: Redis
-- holds each competition's leaderboard as a sorted set that is rebuilt from
-- `competition_scores` at any time. One actor per competition
-- (`competition:<id>`) hears its row through the outbox.

create table competitions (
  id uuid primary key default gen_random_uuid(),
  organiser_id uuid not null references users (id) on delete cascade,
  name text not null check (length(name) between 1 and 200),
  description text not null default '',
  metric text not null check (metric in ('steps', 'distance_m', 'active_minutes', 'calories')),
  -- The zone whose calendar days the competition's "days" are (23 or 25 hours at DST changes).
  time_zone text not null,
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  max_participants integer check (max_participants between 1 and 1000000),
  prize_pool_minor bigint not null default 0 check (prize_pool_minor >= 0),
  currency text not null default 'EUR' check (currency ~ '^[A-Z]{3}$'),
  -- Shares of the pool by position in basis points (5000, 3000, 2000 = 50/30/20 %); sums to 10000 or is empty.
  payout_bps integer[] not null default '{}',
  status text not null default 'draft'
    check (status in ('draft', 'open', 'running', 'finished', 'distributing', 'settled', 'cancelled')),
  frozen_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (ends_at > starts_at),
  check (ends_at - starts_at <= interval '366 days')
);
create index competitions_organiser on competitions (organiser_id, created_at, id);
create index competitions_live on competitions (id) where status in ('open', 'running', 'finished', 'distributing');
create trigger competitions_touch before update on competitions
  for each row execute function herald_touch_updated_at();
create trigger competitions_capture after insert or update or delete on competitions
  for each row execute function herald_capture_change('competition_changes', 'id');

create table competition_participants (
  competition_id uuid not null references competitions (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  joined_at timestamptz not null default now(),
  primary key (competition_id, user_id)
);
create index competition_participants_user on competition_participants (user_id, competition_id);

-- One record per (user, source, externalId): only a newer version replaces it; a deletion is kept
-- as a tombstone (so a replayed older version cannot bring it back).
create table fitness_records (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  source text not null,
  external_id text not null,
  version bigint not null default 0,
  kind text not null check (kind in ('walk', 'run', 'ride', 'swim', 'workout', 'other')),
  manual boolean not null default false,
  started_at timestamptz not null,
  ended_at timestamptz not null,
  start_offset_minutes integer not null,
  end_offset_minutes integer not null,
  steps bigint not null default 0,
  distance_m bigint not null default 0,
  active_minutes bigint not null default 0,
  calories bigint not null default 0,
  -- Why the record does not count (implausible values, manual entry); empty = it counts.
  flags text[] not null default '{}',
  deleted boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (user_id, source, external_id),
  check (ended_at > started_at)
);
create index fitness_records_user_time on fitness_records (user_id, started_at);
create trigger fitness_records_touch before update on fitness_records
  for each row execute function herald_touch_updated_at();

-- Each participant's score, recomputed from their records on every sync. `version` increases with
-- every change, so a late Redis write never overwrites a newer one; `reached_at` (whole seconds)
-- is when the current score was reached: the tie-break.
create table competition_scores (
  competition_id uuid not null references competitions (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  score bigint not null default 0 check (score >= 0),
  reached_at timestamptz not null default date_trunc('second', now()),
  version bigint not null default 1,
  -- Left the competition or excluded after a dispute: not on the leaderboard.
  removed boolean not null default false,
  excluded boolean not null default false,
  updated_at timestamptz not null default now(),
  primary key (competition_id, user_id)
);
create index competition_scores_order on competition_scores (competition_id, score desc, reached_at, user_id)
  where not removed;
create index competition_scores_updated on competition_scores (competition_id, updated_at);
create trigger competition_scores_touch before update on competition_scores
  for each row execute function herald_touch_updated_at();

-- The frozen standings: written once from SQL (never from Redis), with a hash of their content.
-- A dispute's exclusion writes a new version; workflows carry the snapshot id only.
create table standings_snapshots (
  id uuid primary key default gen_random_uuid(),
  competition_id uuid not null references competitions (id) on delete cascade,
  version integer not null,
  hash text not null,
  standings jsonb not null,
  created_at timestamptz not null default now(),
  unique (competition_id, version)
);

create table prize_calculations (
  id uuid primary key default gen_random_uuid(),
  competition_id uuid not null references competitions (id) on delete cascade,
  snapshot_id uuid not null references standings_snapshots (id) on delete cascade,
  status text not null default 'awaiting_approval'
    check (status in ('awaiting_approval', 'approved', 'superseded', 'completed')),
  total_minor bigint not null,
  currency text not null,
  created_at timestamptz not null default now(),
  approved_at timestamptz,
  unique (snapshot_id)
);
-- At most one calculation of a competition is approved (or paid) at a time.
create unique index prize_calculations_one_approved on prize_calculations (competition_id)
  where status in ('approved', 'completed');

-- The payout ledger: pending -> submitted -> confirmed | failed.
create table prize_allocations (
  id uuid primary key default gen_random_uuid(),
  calculation_id uuid not null references prize_calculations (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  rank integer not null,
  amount_minor bigint not null check (amount_minor > 0),
  status text not null default 'pending' check (status in ('pending', 'submitted', 'confirmed', 'failed')),
  provider_reference text,
  failure text,
  updated_at timestamptz not null default now(),
  unique (calculation_id, user_id)
);
create trigger prize_allocations_touch before update on prize_allocations
  for each row execute function herald_touch_updated_at();

-- Every step of a competition's prizes, append-only.
create table competition_audit (
  id bigint generated always as identity primary key,
  competition_id uuid not null references competitions (id) on delete cascade,
  actor_id uuid,
  action text not null,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
create index competition_audit_competition on competition_audit (competition_id, id);
create function herald_audit_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'competition_audit is append-only';
end $$;
create trigger competition_audit_append_only before update or delete on competition_audit
  -- A competition's deletion cascades (a nested trigger level); nothing else rewrites it.
  for each row when (pg_trigger_depth() = 0)
  execute function herald_audit_append_only();

-- Disputes: filed by a participant while the dispute window (after the freeze) is open; the
-- organiser upholds one (the subject is excluded: a new snapshot version) or rejects it.
create table competition_disputes (
  id uuid primary key default gen_random_uuid(),
  competition_id uuid not null references competitions (id) on delete cascade,
  filed_by uuid not null references users (id) on delete cascade,
  subject_user_id uuid not null references users (id) on delete cascade,
  reason text not null check (length(reason) between 1 and 2000),
  status text not null default 'open' check (status in ('open', 'upheld', 'rejected')),
  resolution text,
  created_at timestamptz not null default now(),
  resolved_at timestamptz
);
create index competition_disputes_competition on competition_disputes (competition_id, created_at, id);
