-- Platform tables: the record of each daily cleanup run.
create table cleanup_runs (
  id bigint generated always as identity primary key,
  finished_at timestamptz not null default now(),
  removed jsonb not null default '{}'::jsonb
);

create index cleanup_runs_finished_at on cleanup_runs (finished_at);
