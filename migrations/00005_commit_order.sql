-- Commit order per key.
--
-- An identity value is taken when a row is written, but the row becomes
-- visible only at commit. Two transactions changing the same entity could
-- commit in the other order than their outbox ids, and an actor that applies
-- each change once (by remembering the last id) would skip the lower one.
--
-- herald_order_lock(key) is the one primitive that prevents it: a
-- transaction-scoped advisory lock on the key, taken *before* the ordered
-- value is drawn. A second transaction on the same key waits until the first
-- has committed (or rolled back), so values drawn under the lock follow
-- commit order per key. PostgreSQL makes a commit visible before it releases
-- the transaction's locks, so any snapshot that sees the later transaction
-- also sees the earlier one. The capture trigger uses it for outbox ids per
-- entity; a per-user sync cursor (multi-device sync, to come) is meant to use
-- the same function.
--
-- Lock order: a transaction locks the rows of the entities it will change
-- first (for events, `select … for update` on the event row; several entities
-- sorted by id, as account deletion does in src/events/repository.ts), then
-- changes them; the order lock is then never waited for by a transaction that
-- holds a row another writer of the same entity needs.
create function herald_order_lock(key text) returns void language sql volatile as $$
  select pg_advisory_xact_lock(hashtextextended('herald-order:' || key, 0))
$$;

create or replace function herald_capture_change() returns trigger language plpgsql as $$
declare
  rec record;
  entity text;
  channel text := tg_argv[0];
  payload jsonb;
begin
  if tg_op = 'DELETE' then rec := old; else rec := new; end if;
  -- An IF, not a CASE: a CASE expression resolves rec.event_id on events rows too and fails.
  if tg_table_name = 'participants' then entity := rec.event_id::text; else entity := rec.id::text; end if;
  -- Ids of one entity follow commit order: see herald_order_lock above.
  perform herald_order_lock('entity:' || entity);
  insert into outbox (table_name, operation, entity_key, row_id) values (tg_table_name, tg_op, entity, rec.id);
  perform pg_notify('herald_outbox', '');
  payload := jsonb_build_object('operation', tg_op, 'id', rec.id, 'data', to_jsonb(rec), 'timestamp', now());
  if octet_length(payload::text) > 7900 then
    payload := (payload - 'data') || jsonb_build_object('data_truncated', true);
  end if;
  perform pg_notify(channel, payload::text);
  return null;
end $$;
