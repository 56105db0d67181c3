-- Placeholder on the observability branch only: the lead assigned this branch 00012, and
-- 00010/00011 belong to branches merged before it. Delete this file on merge.
select 1;
