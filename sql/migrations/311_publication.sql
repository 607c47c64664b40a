-- Publication of the packs to data.gouv.fr (opt-in, src/publish/).
-- One row per commune that publishes: its data.gouv.fr organization and API key. The key is
-- stored encrypted (AES-256-GCM under the PUBLICATION_KEY setting), never in clear.
create table publication_targets (
  code               text primary key,
  organization       text not null,              -- data.gouv.fr organization id
  api_url            text not null,              -- https://www.data.gouv.fr/api/1 (demo.data.gouv.fr to try)
  api_key_enc        bytea not null,
  registered_by      text not null,              -- 'cli' | 'operateur'
  registered_at      timestamptz not null default now(),
  -- Set when data.gouv.fr refused the key (401) or the action (403): publication stops until a new key is registered.
  stopped_at         timestamptz,
  stop_reason        text,
  published_version  text,                        -- last pack version fully published
  published_at       timestamptz,
  last_error         text,
  last_attempt_at    timestamptz
);

-- One data.gouv.fr dataset per (commune, source), stable across versions; 'pack' is the whole pack.
create table publication_datasets (
  code         text not null references publication_targets (code) on delete cascade,
  dataset_key  text not null,
  remote_id    text not null,
  meta_hash    text not null,                    -- of the metadata last sent: unchanged → no PUT
  primary key (code, dataset_key)
);

-- One resource per file of a dataset: its remote id and the sha256 of the bytes last uploaded.
create table publication_resources (
  code         text not null,
  dataset_key  text not null,
  file         text not null,
  remote_id    text not null,
  url          text not null,
  sha256       text not null,
  meta_hash    text,
  version      text not null,                    -- pack version whose file was uploaded
  primary key (code, dataset_key, file),
  foreign key (code, dataset_key) references publication_datasets (code, dataset_key) on delete cascade
);

-- Every attempt, what it did: the operator's view (dotation publish list, GET /operator/publications).
create table publication_runs (
  id           bigserial primary key,
  code         text not null,
  version      text,
  status       text not null check (status in ('running', 'published', 'unchanged', 'failed', 'stopped')),
  trigger      text not null,
  job_id       text,
  attempt      int not null default 1,
  writes       int not null default 0,            -- requests that changed something on data.gouv.fr
  error        text,
  started_at   timestamptz not null default now(),
  finished_at  timestamptz
);
create index publication_runs_code on publication_runs (code, id desc);
