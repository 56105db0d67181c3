-- Reminders (seed 001): one durable actor per row (`reminder:<id>`), fed by
-- the outbox. The schedule is a local wall time plus an IANA zone (or none:
-- "floating", it follows the owner's `users.timezone`), an optional RFC 5545
-- RRULE with EXDATEs, and up to five offsets before each occurrence. What
-- the actor derives (`fired_through`, `next_fire_at`, `last_fired_at`) is
-- written by its activity and does not go through the outbox.

create table reminders (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references users (id) on delete cascade,
  title text not null check (length(title) between 1 and 200),
  notes text not null default '',
  subject_contact_id uuid references contacts (id) on delete cascade,
  subject_transaction_id uuid references transactions (id) on delete cascade,
  -- The first occurrence as a wall-clock time (DTSTART without a zone).
  local_start timestamp not null,
  -- IANA zone; null = floating (the owner's profile zone, read at planning time).
  time_zone text,
  -- The date of the first occurrence is the subject transaction's due_date (time from local_start).
  follow_due_date boolean not null default false,
  -- RRULE value without the "RRULE:" prefix (e.g. FREQ=DAILY;COUNT=10); null = once.
  rrule text,
  -- EXDATEs as wall-clock times of the occurrences they remove.
  exdates timestamp[] not null default '{}',
  -- ISO 8601 durations before each occurrence ("P1D" = the day before, same wall time); {} = at it.
  offsets text[] not null default '{}',
  status text not null default 'active' check (status in ('active', 'paused', 'completed', 'cancelled')),
  -- Snooze moves one firing (`snoozed_key`, as in the notification's key) to `snoozed_until`.
  snoozed_until timestamptz,
  snoozed_key text,
  -- Bumped to re-plan without a visible change (the owner's time zone changed).
  plan_version integer not null default 0,
  -- When the actor took up the current schedule (its clock; null = not yet): firings the schedule
  -- put in the past are due from here (see README).
  planned_from timestamptz,
  -- Derived by the actor's activity: every firing scheduled at or before this was handled.
  fired_through timestamptz,
  next_fire_at timestamptz,
  last_fired_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  check (cardinality(offsets) <= 5),
  check (cardinality(exdates) <= 100),
  check (not follow_due_date or subject_transaction_id is not null),
  check ((snoozed_until is null) = (snoozed_key is null))
);
create index reminders_owner on reminders (owner_id, created_at, id) where deleted_at is null;
create index reminders_live on reminders (id) where status = 'active' and deleted_at is null;
create index reminders_floating on reminders (owner_id) where time_zone is null;
create index reminders_contact on reminders (subject_contact_id) where subject_contact_id is not null;
create index reminders_transaction on reminders (subject_transaction_id) where subject_transaction_id is not null;
create trigger reminders_touch before update on reminders for each row execute function herald_touch_updated_at();

-- A new schedule (or a re-plan) starts when the actor takes it up: firings it puts in the past are
-- due from then. The actor's clock, not the database's: its timers run on Temporal's time.
create function herald_reminder_replanned() returns trigger language plpgsql as $$
begin
  if (new.local_start, new.time_zone, new.follow_due_date, new.rrule, new.exdates, new.offsets, new.plan_version)
     is distinct from
     (old.local_start, old.time_zone, old.follow_due_date, old.rrule, old.exdates, old.offsets, old.plan_version)
  then
    new.planned_from := null;
  end if;
  return new;
end $$;
create trigger reminders_replanned before update on reminders
  for each row execute function herald_reminder_replanned();

-- Changes the actor must see reach the outbox. Its own writes do not (its activity sets
-- `herald.reminder_actor` for its transaction): they would only wake it, or start it again
-- just after it ended on a series it completed itself.
create trigger reminders_capture after insert or delete on reminders
  for each row execute function herald_capture_change('reminder_changes', 'id');
create trigger reminders_capture_update after update on reminders
  for each row when (
    current_setting('herald.reminder_actor', true) is distinct from 'on' and
    (old.title, old.notes, old.subject_contact_id, old.subject_transaction_id, old.local_start, old.time_zone,
     old.follow_due_date, old.rrule, old.exdates, old.offsets, old.status, old.snoozed_until, old.snoozed_key,
     old.plan_version, old.deleted_at)
    is distinct from
    (new.title, new.notes, new.subject_contact_id, new.subject_transaction_id, new.local_start, new.time_zone,
     new.follow_due_date, new.rrule, new.exdates, new.offsets, new.status, new.snoozed_until, new.snoozed_key,
     new.plan_version, new.deleted_at))
  execute function herald_capture_change('reminder_changes', 'id');

-- Subjects: a reminder follows its contact's or transaction's soft delete, and comes back with
-- its restore only if it went with it (same deleted_at), re-planned (as a resume is: what it
-- missed meanwhile is not sent as a "missed" summary). A settled debt completes its reminders;
-- a moved due date re-plans the reminders that follow it.
create function herald_reminders_follow_contact() returns trigger language plpgsql as $$
begin
  if old.deleted_at is null and new.deleted_at is not null then
    update reminders set deleted_at = new.deleted_at
      where subject_contact_id = new.id and deleted_at is null;
  elsif old.deleted_at is not null and new.deleted_at is null then
    update reminders set deleted_at = null, plan_version = plan_version + 1
      where subject_contact_id = new.id and deleted_at = old.deleted_at;
  end if;
  return null;
end $$;
create trigger contacts_reminders after update of deleted_at on contacts
  for each row execute function herald_reminders_follow_contact();

create function herald_reminders_follow_transaction() returns trigger language plpgsql as $$
begin
  if old.deleted_at is null and new.deleted_at is not null then
    update reminders set deleted_at = new.deleted_at
      where subject_transaction_id = new.id and deleted_at is null;
  elsif old.deleted_at is not null and new.deleted_at is null then
    update reminders set deleted_at = null, plan_version = plan_version + 1
      where subject_transaction_id = new.id and deleted_at = old.deleted_at;
  end if;
  if new.status = 'settled' and old.status is distinct from 'settled' then
    update reminders set status = 'completed', snoozed_until = null, snoozed_key = null
      where subject_transaction_id = new.id and status in ('active', 'paused');
  end if;
  if new.due_date is distinct from old.due_date then
    update reminders set plan_version = plan_version + 1
      where subject_transaction_id = new.id and follow_due_date;
  end if;
  return null;
end $$;
create trigger transactions_reminders after update on transactions
  for each row execute function herald_reminders_follow_transaction();

-- A new profile time zone re-plans every floating reminder of that user (through the outbox).
create function herald_reminders_follow_timezone() returns trigger language plpgsql as $$
begin
  update reminders set plan_version = plan_version + 1
    where owner_id = new.id and time_zone is null and deleted_at is null and status in ('active', 'paused');
  return null;
end $$;
create trigger users_reminders_timezone after update of timezone on users
  for each row when (old.timezone is distinct from new.timezone)
  execute function herald_reminders_follow_timezone();
