-- Fan-out pack builds on the queue (src/queue/packs.ts). A build is one row of `runs`
-- (source 'packs', job_id = the parent job id); its children are one job per département.

-- One row per (build, département): written when the child job ends (succeeded, or failed for one attempt).
-- The run's progress (départements done / total, packs built) is recomputed from these rows, so a child
-- that BullMQ happened to run twice is still counted once.
create table pack_build_departements (
  build_id     text not null,
  run_id       bigint references runs(id) on delete cascade,
  departement  text not null,
  status       text not null check (status in ('succeeded', 'failed')),
  job_id       text not null,
  attempt      int not null default 1,
  worker       text not null,                 -- host:pid of the worker process
  communes     int not null default 0,
  built        int not null default 0,
  unchanged    int not null default 0,
  failed       int not null default 0,
  seconds      numeric,
  error        text,
  finished_at  timestamptz not null default now(),
  primary key (build_id, departement)
);
create index pack_build_departements_run on pack_build_departements (run_id);

-- One row per commune and child attempt: what that attempt did with the commune's pack.
-- A log, not a state: it is how one proves a pack was built exactly once by a build.
create table pack_build_communes (
  id           bigserial primary key,
  build_id     text not null,
  departement  text not null,
  code         text not null,
  status       text not null check (status in ('built', 'unchanged', 'failed')),
  version      text,
  job_id       text not null,
  attempt      int not null default 1,
  worker       text not null,
  error        text,
  at           timestamptz not null default now()
);
create index pack_build_communes_build on pack_build_communes (build_id, code);
