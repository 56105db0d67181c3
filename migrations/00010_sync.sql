-- Multi-device sync (seed 001: POST /api/sync/push, /api/sync/pull; src/sync/).
--
-- The cookie is a per-user version that follows COMMIT order. Every writing
-- transaction of a user's synced rows (contacts, transactions, reminders; REST
-- and push alike) takes the next version from the user's one `sync_versions`
-- row with an update, and holds that row lock until it commits: a second
-- writer of the same user waits for it, so a version taken earlier always
-- commits earlier, and a snapshot that reads version V sees every change
-- stamped <= V and none above. The version is taken by deferred constraint
-- triggers, i.e. at commit time, after the transaction took every row lock it
-- needs (lock order: the version row is the last lock a writer takes). The
-- row lock plays the part of herald_order_lock (00005_commit_order.sql) for
-- the per-user key: the row must be updated anyway, and its lock has the same
-- scope and lifetime, so no advisory lock is taken besides it.
--
-- `sync_rows` holds, per synced row, the version of its last change and
-- whether it is gone (soft-deleted, or hard-deleted for reminders): live
-- entries are pulled as `put`, gone ones as `del` (the tombstones). The daily
-- cleanup purges tombstones older than SYNC_TOMBSTONE_RETENTION_DAYS and
-- records the highest purged version in `purged_through`: a cookie below it
-- gets `clear` plus a full snapshot.

create table sync_versions (
  user_id uuid primary key references users (id) on delete cascade,
  version bigint not null default 0,
  purged_through bigint not null default 0
);

-- A client group (one device's storage) belongs to the user who first used it.
create table sync_client_groups (
  id text primary key check (length(id) between 1 and 100),
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default now()
);
create index sync_client_groups_user on sync_client_groups (user_id);

-- Per client: the last mutation id whose effect committed, and the version of that commit.
create table sync_clients (
  client_group_id text not null references sync_client_groups (id) on delete cascade,
  id text not null check (length(id) between 1 and 100),
  last_mutation_id bigint not null default 0,
  version bigint not null default 0,
  updated_at timestamptz not null default now(),
  primary key (client_group_id, id)
);

create table sync_rows (
  entity text not null check (entity in ('contact', 'transaction', 'reminder')),
  id uuid not null,
  owner_id uuid not null references users (id) on delete cascade,
  version bigint not null,
  deleted boolean not null,
  changed_at timestamptz not null default now(),
  primary key (entity, id)
);
create index sync_rows_owner_version on sync_rows (owner_id, version, entity, id);
create index sync_rows_tombstones on sync_rows (changed_at) where deleted;

-- The calling transaction's version for `owner`: the first call bumps the
-- user's row (and holds its lock until commit), later calls in the same
-- transaction return the same value (cached in a transaction-local setting).
-- Null when the user is gone (deleted in this very transaction). The commit
-- also pokes the user's devices (NOTIFY is delivered at commit).
create function herald_sync_version(owner uuid) returns bigint language plpgsql volatile as $$
declare
  cached text := current_setting('herald.sync_version', true);
  v bigint;
begin
  if cached is not null and cached <> '' and split_part(cached, '/', 1) = owner::text then
    return split_part(cached, '/', 2)::bigint;
  end if;
  insert into sync_versions as s (user_id, version)
    select owner, 1 where exists (select 1 from users where id = owner)
  on conflict (user_id) do update set version = s.version + 1
  returning s.version into v;
  if v is null then
    return null;
  end if;
  perform set_config('herald.sync_version', owner::text || '/' || v, true);
  perform pg_notify('herald_sync_poke', json_build_object('userId', owner, 'version', v)::text);
  return v;
end $$;

-- Deferred to commit: stamps the changed row with the transaction's version.
-- Reads the row as it stands at commit (gone = deleted_at set, or no row).
create function herald_sync_track() returns trigger language plpgsql as $$
declare
  rid uuid;
  owner uuid;
  live boolean;
  v bigint;
begin
  if tg_op = 'DELETE' then
    rid := old.id; owner := old.owner_id;
  else
    rid := new.id; owner := new.owner_id;
  end if;
  execute format('select deleted_at is null from %I where id = $1', tg_table_name) into live using rid;
  v := herald_sync_version(owner);
  if v is null then
    return null;
  end if;
  insert into sync_rows (entity, id, owner_id, version, deleted, changed_at)
    values (tg_argv[0], rid, owner, v, not coalesce(live, false), now())
  on conflict (entity, id) do update
    set version = excluded.version, deleted = excluded.deleted, changed_at = excluded.changed_at,
        owner_id = excluded.owner_id;
  return null;
end $$;

create constraint trigger contacts_sync after insert or update or delete on contacts
  deferrable initially deferred for each row execute function herald_sync_track('contact');
create constraint trigger transactions_sync after insert or update or delete on transactions
  deferrable initially deferred for each row execute function herald_sync_track('transaction');
-- Reminders: what their owner edits or sees change, not what the actor derives (next firing, plan).
create constraint trigger reminders_sync after insert or delete on reminders
  deferrable initially deferred for each row execute function herald_sync_track('reminder');
create constraint trigger reminders_sync_update after update on reminders
  deferrable initially deferred for each row when (
    (old.title, old.notes, old.subject_contact_id, old.subject_transaction_id, old.local_start, old.time_zone,
     old.follow_due_date, old.rrule, old.exdates, old.offsets, old.status, old.snoozed_until, old.deleted_at)
    is distinct from
    (new.title, new.notes, new.subject_contact_id, new.subject_transaction_id, new.local_start, new.time_zone,
     new.follow_due_date, new.rrule, new.exdates, new.offsets, new.status, new.snoozed_until, new.deleted_at))
  execute function herald_sync_track('reminder');

-- Rows written before this migration: version 1 of their owner.
insert into sync_versions (user_id, version)
  select distinct owner_id, 1 from (
    select owner_id from contacts union select owner_id from transactions union select owner_id from reminders
  ) o;
insert into sync_rows (entity, id, owner_id, version, deleted)
  select 'contact', id, owner_id, 1, deleted_at is not null from contacts
  union all select 'transaction', id, owner_id, 1, deleted_at is not null from transactions
  union all select 'reminder', id, owner_id, 1, deleted_at is not null from reminders;
