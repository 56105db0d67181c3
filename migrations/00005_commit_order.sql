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
-- also sees the earlier one. The capture trigger (00006_feature_routes.sql)
-- takes it before every outbox insert, for outbox ids per entity; a per-user sync cursor (multi-device sync, to come) is meant to use
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
