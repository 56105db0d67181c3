-- What an API process may keep in memory about who is signed in, and the
-- notifications that tell it to forget: a session revoked or deleted
-- ('s:<session id>'), a user changed or deleted ('u:<user id>'), an external
-- identity unlinked ('u:<user id>'). NOTIFY is sent at commit, in commit
-- order, to every listening process (src/auth/session-cache.ts).

create or replace function herald_auth_invalidate() returns trigger language plpgsql as $$
declare
  rec record;
begin
  if tg_op = 'DELETE' then rec := old; else rec := new; end if;
  if tg_table_name = 'auth_sessions' then
    perform pg_notify('herald_auth', 's:' || rec.id);
  elsif tg_table_name = 'users' then
    perform pg_notify('herald_auth', 'u:' || rec.id);
  else
    perform pg_notify('herald_auth', 'u:' || rec.user_id);
  end if;
  return null;
end $$;

create trigger auth_sessions_invalidate after update of revoked_at or delete on auth_sessions
  for each row execute function herald_auth_invalidate();
create trigger users_invalidate after update or delete on users
  for each row execute function herald_auth_invalidate();
create trigger external_identities_invalidate after update or delete on external_identities
  for each row execute function herald_auth_invalidate();

-- The bridge's claim (src/bridge/outbox.ts): walks the entities with pending
-- changes, oldest first, and takes a session-level advisory lock on each it
-- can, until it holds `wanted` of them. Entities another bridge holds are
-- passed over, however many there are, so they never crowd the others out
-- of a fixed window; exactly the entities returned are held.
create or replace function herald_claim_entities(wanted integer, except_keys text[])
returns setof text language plpgsql as $$
declare
  key text;
  held integer := 0;
begin
  if wanted <= 0 then return; end if;
  for key in
    select entity_key from outbox
    where delivered_at is null and entity_key <> all(except_keys)
    group by entity_key order by min(id)
  loop
    if pg_try_advisory_lock(hashtextextended('herald-outbox:' || key, 0)) then
      held := held + 1;
      return next key;
      exit when held >= wanted;
    end if;
  end loop;
end $$;

-- What this session holds but should not: advisory locks of outbox entities
-- other than `keep` (a claim that failed part-way left them). Releases them.
create or replace function herald_release_stray_claims(keep text[]) returns integer language plpgsql as $$
declare
  lock_key bigint;
  released integer := 0;
begin
  for lock_key in
    select (l.classid::bigint << 32) | l.objid::bigint from pg_locks l
    where l.pid = pg_backend_pid() and l.locktype = 'advisory' and l.objsubid = 1 and l.granted
  loop
    if lock_key <> all(array(select hashtextextended('herald-outbox:' || k, 0) from unnest(keep) k)) then
      while pg_advisory_unlock(lock_key) loop
        released := released + 1;
      end loop;
    end if;
  end loop;
  return released;
end $$;
