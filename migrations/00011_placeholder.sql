-- Placeholder on the observability branch only: the lead assigned this branch 00012, and
-- 00011 belongs to a branch merged before it. Delete this file on merge.
select 1;
