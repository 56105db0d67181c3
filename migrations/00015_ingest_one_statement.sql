-- Batched ingestion in one statement (issue 14, performance).
--
-- herald_ingest_events stores one source's batch: it takes the ingest order
-- lock (00005, 00013) and then inserts, so `seq` and `received_at` are still
-- drawn under the lock and follow commit order (readHorizon in
-- src/triggers/processor-store.ts relies on it, unchanged). Called as one
-- autocommit statement, the lock is held from inside the statement to its
-- commit and never across a round trip to the client: before, the client's
-- BEGIN / lock / INSERT / COMMIT kept it through three round trips, which a
-- busy API process stretches and which serialised concurrent ingesters for
-- that long. The arguments (the data as one jsonb array, the other columns as
-- arrays) are parsed before the function runs, i.e. outside the lock.
--
-- The answer is one JSON text, [[externalId, id, duplicate], ...], one entry per
-- distinct external id: what was inserted, then (only when something
-- conflicted) the rows already stored, read after the lock by a statement of
-- its own, so it sees every batch that committed before this one.
create function herald_ingest_events(
  p_source uuid, p_owner uuid, p_types text[], p_external_ids text[], p_occurred timestamptz[], p_data jsonb
) returns text language plpgsql volatile as $$
declare
  inserted text[];
  answer json;
  existing json;
begin
  perform herald_order_lock('ingest');
  with ins as (
    insert into ingested_events (source_id, owner_id, type, external_id, occurred_at, data)
    select p_source, p_owner, e.type, e.external_id, coalesce(e.occurred_at, clock_timestamp()), e.data
    from rows from (unnest(p_types), unnest(p_external_ids), unnest(p_occurred), jsonb_array_elements(p_data))
         with ordinality as e(type, external_id, occurred_at, data, n)
    order by e.n
    on conflict (source_id, external_id) do nothing
    returning id, external_id)
  select coalesce(array_agg(external_id), '{}'), coalesce(json_agg(json_build_array(external_id, id, false)), '[]')
    into inserted, answer from ins;
  if cardinality(inserted) < cardinality(p_external_ids) then
    select json_agg(json_build_array(e.external_id, e.id, true)) into existing
    from ingested_events e
    where e.source_id = p_source and e.external_id = any(p_external_ids) and e.external_id <> all(inserted);
    if existing is not null then
      return (answer::jsonb || existing::jsonb)::text;
    end if;
  end if;
  return answer::text;
end $$;

-- An event's owner is its source's owner (the ingest path copies it from the
-- source row): the source's foreign key already removes the events of a
-- deleted source, and a deleted user's sources go with the user. The second
-- foreign key checked the same user row once per inserted event (about a
-- third of the insert's time in EXPLAIN ANALYZE at batches of 1,000).
alter table ingested_events drop constraint ingested_events_owner_id_fkey;
