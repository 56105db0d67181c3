-- Events and participants (seed 000), the transactional outbox that feeds the
-- notify bridge, the routing table from row changes to actors, and the
-- in-app notification inbox.

create table events (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references users (id) on delete cascade,
  title text not null check (length(title) between 1 and 200),
  description text not null default '',
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  location text not null default '',
  capacity integer not null check (capacity >= 1),
  status text not null default 'scheduled' check (status in ('scheduled', 'cancelled')),
  -- Reminder offsets before start, in seconds (default 24 h and 1 h).
  reminder_offsets integer[] not null default '{86400,3600}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (ends_at > starts_at)
);
create index events_owner on events (owner_id, starts_at);
create index events_starts_at on events (starts_at) where status = 'scheduled';
create trigger events_touch before update on events for each row execute function herald_touch_updated_at();

create table participants (
  id uuid primary key default gen_random_uuid(),
  event_id uuid not null references events (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  status text not null default 'registered'
    check (status in ('registered', 'waitlisted', 'confirmed', 'cancelled', 'attended')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- One live registration per user and event; cancelled rows stay as history.
create unique index participants_live on participants (event_id, user_id) where status <> 'cancelled';
create index participants_event_status on participants (event_id, status, created_at);
create index participants_user on participants (user_id, created_at desc);
create trigger participants_touch before update on participants for each row execute function herald_touch_updated_at();

-- Row changes an actor must see, written in the same transaction as the change.
create table outbox (
  id bigint generated always as identity primary key,
  table_name text not null,
  operation text not null check (operation in ('INSERT', 'UPDATE', 'DELETE')),
  entity_key text not null,          -- the actor's entity, e.g. the event id
  row_id uuid not null,
  created_at timestamptz not null default now(),
  delivered_at timestamptz
);
create index outbox_pending on outbox (entity_key, id) where delivered_at is null;
create index outbox_pending_id on outbox (id) where delivered_at is null;
create index outbox_delivered_at on outbox (delivered_at) where delivered_at is not null;

-- Routing is data: which actor hears about which change.
create table outbox_routes (
  table_name text not null,
  operation text not null,
  workflow_type text not null,
  workflow_id_prefix text not null,  -- workflow id = prefix || entity_key
  signal_name text not null,
  primary key (table_name, operation)
);
insert into outbox_routes values
  ('events', 'INSERT', 'eventActor', 'event:', 'eventChanged'),
  ('events', 'UPDATE', 'eventActor', 'event:', 'eventChanged'),
  ('events', 'DELETE', 'eventActor', 'event:', 'eventChanged'),
  ('participants', 'INSERT', 'eventActor', 'event:', 'eventChanged'),
  ('participants', 'UPDATE', 'eventActor', 'event:', 'eventChanged'),
  ('participants', 'DELETE', 'eventActor', 'event:', 'eventChanged');

-- Outbox row + wake-up. The NOTIFY carries no row data, so identical wake-ups in
-- one transaction collapse into one. Then the seed's channels for outside
-- listeners: {operation, id, data, timestamp}, `data` left out (with
-- data_truncated = true) when the payload would pass NOTIFY's 8000-byte limit.
create function herald_capture_change() returns trigger language plpgsql as $$
declare
  rec record;
  entity text;
  channel text := tg_argv[0];
  payload jsonb;
begin
  if tg_op = 'DELETE' then rec := old; else rec := new; end if;
  -- An IF, not a CASE: a CASE expression resolves rec.event_id on events rows too and fails.
  if tg_table_name = 'participants' then entity := rec.event_id::text; else entity := rec.id::text; end if;
  insert into outbox (table_name, operation, entity_key, row_id) values (tg_table_name, tg_op, entity, rec.id);
  perform pg_notify('herald_outbox', '');
  payload := jsonb_build_object('operation', tg_op, 'id', rec.id, 'data', to_jsonb(rec), 'timestamp', now());
  if octet_length(payload::text) > 7900 then
    payload := (payload - 'data') || jsonb_build_object('data_truncated', true);
  end if;
  perform pg_notify(channel, payload::text);
  return null;
end $$;

create trigger events_capture after insert or update or delete on events
  for each row execute function herald_capture_change('event_changes');
create trigger participants_capture after insert or update or delete on participants
  for each row execute function herald_capture_change('participant_changes');

-- The user's in-app inbox. Creation is separate from delivery (channels plug in later).
create table notifications (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  kind text not null,
  title text not null,
  body text not null default '',
  data jsonb not null default '{}'::jsonb,
  -- Idempotency: the same reminder or promotion is recorded once.
  dedupe_key text not null,
  created_at timestamptz not null default now(),
  read_at timestamptz,
  unique (user_id, dedupe_key)
);
create index notifications_user on notifications (user_id, created_at desc, id);
create index notifications_unread on notifications (user_id, created_at desc) where read_at is null;

create function herald_notification_created() returns trigger language plpgsql as $$
begin
  perform pg_notify('notification_created', json_build_object('id', new.id, 'userId', new.user_id)::text);
  return null;
end $$;
create trigger notifications_created after insert on notifications
  for each row execute function herald_notification_created();
