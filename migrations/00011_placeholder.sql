-- Placeholder on branch `triggers` only: numbers 00010-00012 belong to other branches
-- (postgres-shift needs consecutive numbers). Drop this file on merge.
select 1;
