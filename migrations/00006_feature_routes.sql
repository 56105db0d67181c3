-- The outbox takes any number of actors.
--
-- 1. The capture trigger names no table: its arguments are the seed channel
--    for outside listeners and the column that holds the entity key
--    (`herald_capture_change('<channel>', '<entity column>')`).
-- 2. One change may reach several actors: a route's key includes the
--    workflow type. The rows are written from code at every migration
--    (src/app/migrate.ts: each feature's actor bindings), so the table always
--    shows what the running release routes.
-- 3. The reconciler's records, and the mark that a notification's delivery
--    workflow has planned it (so the reconciler can find the ones that never
--    got one).

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
  insert into outbox (table_name, operation, entity_key, row_id)
    values (tg_table_name, tg_op, entity, (payload ->> 'id')::uuid);
  perform pg_notify('herald_outbox', '');
  payload := jsonb_build_object('operation', tg_op, 'id', rec.id, 'data', payload, 'timestamp', now());
  if octet_length(payload::text) > 7900 then
    payload := (payload - 'data') || jsonb_build_object('data_truncated', true);
  end if;
  perform pg_notify(channel, payload::text);
  return null;
end $$;

drop trigger events_capture on events;
create trigger events_capture after insert or update or delete on events
  for each row execute function herald_capture_change('event_changes', 'id');
drop trigger participants_capture on participants;
create trigger participants_capture after insert or update or delete on participants
  for each row execute function herald_capture_change('participant_changes', 'event_id');

alter table outbox_routes drop constraint outbox_routes_pkey;
alter table outbox_routes add primary key (table_name, operation, workflow_type);

create table reconcile_runs (
  id bigint generated always as identity primary key,
  finished_at timestamptz not null default now(),
  repaired jsonb not null default '{}'::jsonb
);
create index reconcile_runs_finished_at on reconcile_runs (finished_at);

alter table notifications add column delivery_planned_at timestamptz;
-- Everything that exists already went through delivery (or predates it).
update notifications set delivery_planned_at = created_at;
create index notifications_unplanned on notifications (created_at) where delivery_planned_at is null;
