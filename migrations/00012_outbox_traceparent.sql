-- One trace from the request to the side effect: the API puts the W3C
-- `traceparent` of its request span into each transaction
-- (`set_config('herald.traceparent', …, true)`, see src/infra/db/sql.ts), the
-- capture trigger copies it into the outbox row, and the bridge links the
-- changes it sends in one signal to their requests. Null when tracing is off
-- or the write did not come from a traced request.
alter table outbox add column traceparent text;

create or replace function herald_capture_change() returns trigger language plpgsql as $$
declare
  rec record;
  entity text;
  channel text := tg_argv[0];
  entity_column text := coalesce(tg_argv[1], 'id');
  payload jsonb;
begin
  if tg_op = 'DELETE' then rec := old; else rec := new; end if;
  payload := to_jsonb(rec);
  entity := payload ->> entity_column;
  if entity is null then
    raise exception 'herald_capture_change: %.% is null', tg_table_name, entity_column;
  end if;
  -- Ids of one entity follow commit order: see herald_order_lock (00005).
  perform herald_order_lock('entity:' || entity);
  insert into outbox (table_name, operation, entity_key, row_id, traceparent)
    values (tg_table_name, tg_op, entity, (payload ->> 'id')::uuid,
            nullif(current_setting('herald.traceparent', true), ''));
  perform pg_notify('herald_outbox', '');
  payload := jsonb_build_object('operation', tg_op, 'id', rec.id, 'data', payload, 'timestamp', now());
  if octet_length(payload::text) > 7900 then
    payload := (payload - 'data') || jsonb_build_object('data_truncated', true);
  end if;
  perform pg_notify(channel, payload::text);
  return null;
end $$;
