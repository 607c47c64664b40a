-- Engine tables: the run ledger, rejected rows, provenance of every raw file, published datasets.
create extension if not exists postgis;
create schema if not exists staging;   -- unlogged per-run tables, dropped after publish

create table runs (
  id             bigserial primary key,
  source         text not null,
  status         text not null check (status in ('queued','running','succeeded','unchanged','failed','interrupted')),
  trigger        text not null default 'cli',       -- cli | worker | schedule | start
  job_id         text,
  attempt        int  not null default 1,
  options        jsonb not null default '{}',
  started_at     timestamptz not null default now(),
  heartbeat_at   timestamptz not null default now(),
  finished_at    timestamptz,
  bytes          bigint not null default 0,
  rows_read      bigint not null default 0,
  rows_loaded    bigint not null default 0,
  rows_rejected  bigint not null default 0,
  rows_published bigint not null default 0,
  millesime      text,
  progress       jsonb not null default '{}',
  error          text
);
create index runs_source_started on runs (source, started_at desc);

create table quarantine (
  id         bigserial primary key,
  run_id     bigint not null references runs(id) on delete cascade,
  source     text not null,
  file       text not null,
  line       bigint,
  raw        text,
  reason     text not null,
  created_at timestamptz not null default now()
);
create index quarantine_run on quarantine (run_id);

create table provenance (
  id            bigserial primary key,
  run_id        bigint references runs(id) on delete set null,
  source        text not null,
  resource      text not null,
  origin        text not null check (origin in ('download','not-modified','mirror','file','embedded')),
  url           text,
  path          text not null,
  etag          text,
  last_modified text,
  sha256        text not null,
  bytes         bigint not null,
  fetched_at    timestamptz not null default now()
);
create index provenance_source_resource on provenance (source, resource, fetched_at desc);

-- One row per (source, millésime) currently published: what packs and catalogs cite.
create table published_datasets (
  source       text not null,
  millesime    text not null,
  run_id       bigint references runs(id) on delete set null,
  published_at timestamptz not null default now(),
  rows         bigint not null,
  sha256       text,             -- of the input files, sorted by resource name
  details      jsonb not null default '{}',
  primary key (source, millesime)
);
