-- Runs that are alive prove it: the process running one holds a session advisory lock
-- (class 'runs', the run id) on its own connection for the whole run. When the process dies
-- (kill -9, machine lost) or PostgreSQL restarts, the lock is gone at once, and any reaper
-- (every worker, every few seconds) marks the run interrupted and drops what it left behind.
-- 'refused': the publication guard stopped a run that would have shrunk a published dataset.
alter table runs drop constraint runs_status_check;
alter table runs add constraint runs_status_check
  check (status in ('queued','running','succeeded','unchanged','failed','interrupted','refused'));
alter table runs add column lease boolean not null default false;
