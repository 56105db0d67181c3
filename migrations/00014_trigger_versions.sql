-- The condition of every trigger version, so that explain can give the value
-- of each operand of a false condition without the processor computing and
-- storing them for every (event, trigger): CEL is pure, so evaluating the
-- version's condition on the stored event again gives exactly what the
-- processor saw (a condition that reads the EMA gets the EMA values the
-- decision stores). Written by the database on every insert and version bump.
create table trigger_versions (
  trigger_id uuid not null references triggers (id) on delete cascade,
  version integer not null,
  condition text not null,
  ema boolean not null,
  primary key (trigger_id, version)
);

create function herald_trigger_version() returns trigger language plpgsql as $$
begin
  insert into trigger_versions (trigger_id, version, condition, ema)
  values (new.id, new.version, new.condition, new.clauses ? 'ema')
  on conflict (trigger_id, version) do nothing;
  return null;
end $$;
create trigger triggers_version after insert or update of version, condition on triggers
  for each row execute function herald_trigger_version();

insert into trigger_versions (trigger_id, version, condition, ema)
select id, version, condition, clauses ? 'ema' from triggers
on conflict do nothing;

-- Explain asks for one trigger's decisions of one event: index that pair (the event-only index
-- served no query and cost every decision insert).
drop index trigger_decisions_event;
create index trigger_decisions_trigger_event on trigger_decisions (trigger_id, event_seq) where event_seq is not null;

-- A batch's false conditions of one trigger that left its state untouched (the processor's quiet
-- path: most evaluations) are one row, not one per event: decision `condition_false`, event_seq
-- the first of them, last_seq the last, reason {"events": [[seq, key, at ms, missing?], ...]}.
-- A trigger's batches are folded one after another in seq order, so these ranges never overlap:
-- the row holding an event is the first with last_seq ≥ its seq.
alter table trigger_decisions add column last_seq bigint;
create index trigger_decisions_trigger_range on trigger_decisions (trigger_id, last_seq) where last_seq is not null;
