-- Debts (seed 001, "Debitum"): a user's contacts and the debts recorded with
-- each of them. Money is an integer of minor units plus an ISO 4217 code, at
-- most 2^53-1 (so it round-trips exactly through JSON numbers). Under
-- `transactions` sits an append-only ledger (`ledger_entries`, never updated
-- or deleted) and the balances cached from it per (contact, currency),
-- written in the same transaction as the entries. Every write locks the
-- contact row first (lock order: README "lock order").
-- Also here, born with this issue: the API's `Idempotency-Key` store.

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
  amount_minor bigint not null check (amount_minor between 1 and 9007199254740991),
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
create index transactions_contact_all on transactions (contact_id, occurred_on, id);

-- Sign: positive = the contact owes the owner. lent +, borrowed -,
-- payment_in (they paid you) -, payment_out (you paid them) +.
-- A create posts one entry, an edit a reversal and a new entry, a delete a
-- reversal, a restore a new entry (`reason` says which). `occurred_on` is the posted version's
-- date (a reversal carries the date of what it reverses).
create table ledger_entries (
  id bigint generated always as identity primary key,
  owner_id uuid not null references users (id) on delete cascade,
  contact_id uuid not null references contacts (id) on delete cascade,
  transaction_id uuid not null references transactions (id) on delete cascade,
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  delta_minor bigint not null check (delta_minor <> 0 and abs(delta_minor) <= 9007199254740991),
  reason text not null check (reason in ('create', 'edit', 'delete', 'restore')),
  occurred_on date not null,
  created_at timestamptz not null default now()
);
create index ledger_entries_contact on ledger_entries (contact_id, currency, created_at);
create index ledger_entries_owner on ledger_entries (owner_id, created_at);

create or replace function ledger_entries_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'ledger_entries is append-only (% refused)', tg_op;
end $$;
create trigger ledger_entries_append_only before update on ledger_entries
  for each row execute function ledger_entries_append_only();

-- The cached balance: the sum of the contact's entries in that currency,
-- kept within the exact JSON range.
create table balances (
  contact_id uuid not null references contacts (id) on delete cascade,
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  owner_id uuid not null references users (id) on delete cascade,
  balance_minor bigint not null default 0
    constraint balances_exact_range check (balance_minor between -9007199254740991 and 9007199254740991),
  updated_at timestamptz not null default now(),
  primary key (contact_id, currency)
);
create index balances_owner on balances (owner_id, contact_id, currency);

-- A payment allocated to debts of the same contact and currency (payment_in
-- to lent, payment_out to borrowed). An allocation counts while both its
-- payment and its debt are live; a debt's status follows from the sum.
create table allocations (
  payment_id uuid not null references transactions (id) on delete cascade,
  debt_id uuid not null references transactions (id) on delete cascade,
  owner_id uuid not null references users (id) on delete cascade,
  amount_minor bigint not null check (amount_minor between 1 and 9007199254740991),
  created_at timestamptz not null default now(),
  primary key (payment_id, debt_id)
);
create index allocations_debt on allocations (debt_id);

-- Idempotency-Key (every authenticated POST, src/http/idempotency.ts): the
-- first response per (user, key) with the request's fingerprint. `status`
-- null = still in flight. Kept until `expires_at` (24 h), then purged by the
-- daily cleanup.
create table idempotency_keys (
  user_id uuid not null references users (id) on delete cascade,
  key text not null check (length(key) between 1 and 255),
  fingerprint text not null,
  status int,
  body jsonb,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (user_id, key)
);
create index idempotency_keys_expiry on idempotency_keys (expires_at);

-- What a transaction adds to its contact's balance (the sign convention above).
create function debt_delta(tx_kind text, tx_amount bigint) returns bigint
  language sql immutable strict as $$
  select case when tx_kind in ('lent', 'payment_out') then tx_amount else -tx_amount end
$$;

-- Debts: what live payments allocated to it; payments: what it allocated to live debts.
create function transaction_allocated(tx_id uuid, tx_kind text) returns bigint
  language sql stable strict as $$
  select coalesce(sum(a.amount_minor), 0)::bigint
  from allocations a join transactions o
    on o.id = case when tx_kind in ('lent', 'borrowed') then a.payment_id else a.debt_id end
   and o.deleted_at is null
  where case when tx_kind in ('lent', 'borrowed') then a.debt_id else a.payment_id end = tx_id
$$;
