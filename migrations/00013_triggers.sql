-- Triggers and actions (seed 002): sources with ingestion keys, ingested
-- events, triggers with CEL conditions and stateful clauses, the processor's
-- partitions (checkpoint + state in one transaction), the decisions that
-- explain each evaluation, and the fires (the action runs' outbox).

-- A source: who may ingest (its key, stored as a SHA-256 hash; the key itself
-- is shown once, at creation). A revoked key is refused from then on.
create table event_sources (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references users (id) on delete cascade,
  name text not null check (length(name) between 1 and 100),
  key_hash bytea not null unique,
  key_prefix text not null,
  revoked_at timestamptz,
  last_used_at timestamptz,
  created_at timestamptz not null default now()
);
create index event_sources_owner on event_sources (owner_id, created_at, id);

-- Ingested events, in commit order: every ingesting transaction takes
-- herald_order_lock('ingest') (00005) before it inserts, so `seq` grows in the
-- order transactions commit and a reader that saw seq N has seen every lower
-- one. `received_at` is drawn under the same lock (clock_timestamp()).
-- (source, external_id) is unique for as long as the event is kept: retention
-- (INGEST_RETENTION_DAYS, at least one day) is the deduplication window.
create table ingested_events (
  seq bigint generated always as identity primary key,
  id uuid not null default gen_random_uuid() unique,
  source_id uuid not null references event_sources (id) on delete cascade,
  owner_id uuid not null references users (id) on delete cascade,
  type text not null check (length(type) between 1 and 200),
  external_id text not null check (length(external_id) between 1 and 200),
  occurred_at timestamptz not null,
  received_at timestamptz not null default clock_timestamp(),
  data jsonb not null,
  unique (source_id, external_id)
);
create index ingested_events_received on ingested_events (received_at);
create index ingested_events_owner on ingested_events (owner_id, type, seq);

-- The seed's `new_event` channel, once per inserting statement: a bounded
-- wake-up ({operation, count, fromSeq, toSeq, timestamp}), never the data.
create function herald_new_event_notify() returns trigger language plpgsql as $$
declare
  n bigint;
  lo bigint;
  hi bigint;
begin
  select count(*), min(seq), max(seq) into n, lo, hi from inserted;
  if n > 0 then
    perform pg_notify('new_event', json_build_object(
      'operation', 'INSERT', 'count', n, 'fromSeq', lo, 'toSeq', hi, 'timestamp', now())::text);
  end if;
  return null;
end $$;
create trigger ingested_events_notify after insert on ingested_events
  referencing new table as inserted for each statement execute function herald_new_event_notify();

-- A trigger: which of its owner's events it hears (types, optionally sources),
-- the CEL condition, an optional CEL key, the stateful clauses and the action.
-- `version` goes up whenever what decides a fire changes (condition, key,
-- clauses, types, sources): the state of the older version is discarded.
create table triggers (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references users (id) on delete cascade,
  name text not null check (length(name) between 1 and 200),
  event_types text[] not null check (cardinality(event_types) between 1 and 20),
  source_ids uuid[] not null default '{}',
  condition text not null,
  key_expr text,
  clauses jsonb not null default '{}'::jsonb,
  action jsonb not null,
  enabled boolean not null default true,
  version integer not null default 1,
  -- The processor partition that evaluates it (hash of the id, fixed at creation).
  partition integer not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index triggers_owner on triggers (owner_id, created_at, id);
create index triggers_partition on triggers (partition) where enabled;
create trigger triggers_touch before update on triggers for each row execute function herald_touch_updated_at();

-- One state per (trigger, key), of one trigger version; `due_at` is its
-- earliest pending timer (hold `for`, debounce, window close, …).
create table trigger_state (
  trigger_id uuid not null references triggers (id) on delete cascade,
  key text not null,
  version integer not null,
  state jsonb not null,
  due_at timestamptz,
  primary key (trigger_id, key)
);
create index trigger_state_due on trigger_state (due_at) where due_at is not null;

-- The processor's partitions: how far each has consumed the events (seq) and
-- its clock (the processing time it has reached; timers fire up to it).
create table processor_partitions (
  partition integer primary key,
  last_seq bigint not null default 0,
  clock timestamptz
);

-- Every evaluation of an event (or a timer) that passed a trigger's prefilter:
-- the decision and why (explain). Kept as long as the events.
create table trigger_decisions (
  id bigint generated always as identity primary key,
  trigger_id uuid not null references triggers (id) on delete cascade,
  trigger_version integer not null,
  event_seq bigint,
  key text not null,
  decision text not null,
  reason jsonb not null,
  at timestamptz not null
);
create index trigger_decisions_trigger on trigger_decisions (trigger_id, id);
create index trigger_decisions_event on trigger_decisions (event_seq) where event_seq is not null;
create index trigger_decisions_at on trigger_decisions (at);

-- A fire: the outbox row of one action run; `fire_key` is its idempotency key
-- and the run's workflow id.
create table trigger_fires (
  id uuid primary key default gen_random_uuid(),
  fire_key text not null unique,
  trigger_id uuid not null references triggers (id) on delete cascade,
  owner_id uuid not null references users (id) on delete cascade,
  trigger_version integer not null,
  key text not null,
  event_seq bigint,
  fired_at timestamptz not null,
  suppressed integer not null default 0,
  payload jsonb not null,
  created_at timestamptz not null default now()
);
create index trigger_fires_trigger on trigger_fires (trigger_id, fired_at, id);

-- Each fire reaches its action run (`action:<fire_key>`, workflow triggerActionRun) through the
-- outbox, in the processor's transaction.
create trigger trigger_fires_capture after insert on trigger_fires
  for each row execute function herald_capture_change('trigger_fire_changes', 'fire_key');

-- The action run of a fire and every attempt of it.
create table action_runs (
  fire_id uuid primary key references trigger_fires (id) on delete cascade,
  trigger_id uuid not null references triggers (id) on delete cascade,
  status text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
  error text,
  started_at timestamptz not null default now(),
  finished_at timestamptz
);
create index action_runs_trigger on action_runs (trigger_id, started_at);
create table action_attempts (
  id bigint generated always as identity primary key,
  fire_id uuid not null references trigger_fires (id) on delete cascade,
  attempt integer not null,
  destination text not null,
  outcome text check (outcome in ('ok', 'retryable', 'permanent', 'circuit_open', 'rate_limited')),
  status_code integer,
  latency_ms double precision,
  error text,
  started_at timestamptz not null default now(),
  finished_at timestamptz
);
create index action_attempts_fire on action_attempts (fire_id, id);
