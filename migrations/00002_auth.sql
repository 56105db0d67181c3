-- Users, their sessions (refresh-token families) and single-use refresh tokens.

create function herald_touch_updated_at() returns trigger language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end $$;

create table users (
  id uuid primary key default gen_random_uuid(),
  email text,
  password_hash text,
  display_name text not null,
  timezone text not null default 'UTC',
  locale text not null default 'en',
  role text not null default 'user' check (role in ('user', 'admin')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Unique case-insensitively; external users may have no email.
create unique index users_email_lower on users (lower(email)) where email is not null;
create trigger users_touch before update on users for each row execute function herald_touch_updated_at();

-- Users known from an external issuer (Supabase, a JWKS provider), by `sub`.
create table external_identities (
  issuer text not null,
  subject text not null,
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (issuer, subject)
);
create index external_identities_user on external_identities (user_id);

-- One row per login: the refresh-token family. Revoking it ends the session.
create table auth_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  revoked_reason text
);
create index auth_sessions_user on auth_sessions (user_id);

-- Refresh tokens are stored as SHA-256 hashes and used once.
create table refresh_tokens (
  token_hash bytea primary key,
  session_id uuid not null references auth_sessions (id) on delete cascade,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now()
);
create index refresh_tokens_session on refresh_tokens (session_id);
create index refresh_tokens_expires on refresh_tokens (expires_at);
