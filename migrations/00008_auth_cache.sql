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
