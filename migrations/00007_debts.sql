-- Debts (seed 001, "Debitum"): a user's contacts and the debts recorded with
-- each of them. Money is an integer of minor units plus an ISO 4217 code; the
-- append-only ledger and the cached balances that sit under `transactions`
-- come with the ledger (later in this file set).

create table contacts (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references users (id) on delete cascade,
  name text not null check (length(name) between 1 and 200),
  email text,
  phone text,
  note text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
create index contacts_owner_name on contacts (owner_id, lower(name), id) where deleted_at is null;
create trigger contacts_touch before update on contacts for each row execute function herald_touch_updated_at();

create table transactions (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references users (id) on delete cascade,
  contact_id uuid not null references contacts (id) on delete cascade,
  kind text not null check (kind in ('lent', 'borrowed', 'payment_in', 'payment_out')),
  amount_minor bigint not null check (amount_minor > 0),
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  description text not null default '',
  occurred_on date not null,
  due_date date,
  -- Debts (lent/borrowed) are open, partial or settled by allocated payments;
  -- payments are always 'settled'.
  status text not null default 'open' check (status in ('open', 'partial', 'settled')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
create index transactions_owner on transactions (owner_id, occurred_on desc, id) where deleted_at is null;
create index transactions_contact on transactions (contact_id, currency) where deleted_at is null;
create trigger transactions_touch before update on transactions for each row execute function herald_touch_updated_at();
