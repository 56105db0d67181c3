-- Delivery channels (webhook, email, Telegram), one delivery per notification
-- and channel, and every attempt at it.
--
-- channels.secret is the webhook's HMAC signing key. It must be readable to
-- sign each request, so it is stored as is (not hashed): the API returns it
-- once, in the response that creates the channel, and never again; logs and
-- delivery_attempts never contain it. Protect it like the rest of the
-- database (disk encryption, restricted backups).
create table channels (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  kind text not null check (kind in ('webhook', 'email', 'telegram')),
  name text not null check (length(name) between 1 and 100),
  enabled boolean not null default true,
  -- webhook
  url text,
  headers jsonb not null default '{}'::jsonb,
  secret text,
  -- email: receives notifications only once verified_at is set
  address text,
  verified_at timestamptz,
  verification_code_hash text,
  verification_expires_at timestamptz,
  verification_attempts integer not null default 0,
  -- telegram
  chat_id text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (kind <> 'webhook' or (url is not null and secret is not null)),
  check (kind <> 'email' or address is not null),
  check (kind <> 'telegram' or chat_id is not null)
);
create index channels_user on channels (user_id, created_at, id);
-- What planDeliveries reads: a user's channels that may receive notifications.
create index channels_deliverable on channels (user_id)
  where enabled and (kind <> 'email' or verified_at is not null);
create trigger channels_touch before update on channels for each row execute function herald_touch_updated_at();

create table deliveries (
  id uuid primary key default gen_random_uuid(),
  notification_id uuid not null references notifications (id) on delete cascade,
  channel_id uuid not null references channels (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  -- Sent with every attempt (Idempotency-Key header, Telegram/SMTP dedupe): receivers deduplicate on it.
  idempotency_key text not null unique default ('dlv_' || replace(gen_random_uuid()::text, '-', '')),
  attempts integer not null default 0,
  last_error text,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  unique (notification_id, channel_id)
);
create index deliveries_user on deliveries (user_id, created_at desc, id desc);
create index deliveries_channel on deliveries (channel_id);

create table delivery_attempts (
  id bigint generated always as identity primary key,
  delivery_id uuid not null references deliveries (id) on delete cascade,
  -- Temporal's attempt number (1-based).
  attempt integer not null,
  -- Where it went, without credentials: the webhook's origin, the address, the chat.
  destination text not null,
  -- null while in flight; stays null when the worker died mid-attempt.
  outcome text check (outcome in ('ok', 'retryable', 'permanent', 'circuit_open', 'rate_limited')),
  status_code integer,
  latency_ms integer,
  -- The failure, with secrets (webhook secret, bot token, URL path and query) removed.
  error text,
  created_at timestamptz not null default now(),
  unique (delivery_id, attempt)
);
