-- One row per pack version ever published: the national change feed (/changes.atom, /changes.feed.json)
-- reads it newest first, paged by id (a stable cursor: new rows never shift an older page).
-- The per-commune feeds read the commune's manifest (the versions still downloadable).
create table pack_versions (
  id          bigserial primary key,
  code        text not null,
  version     text not null,
  build_id    text not null,           -- the buildPacks call (or fan-out build) that made it
  created_at  timestamptz not null,
  sha256      text not null,
  bytes       bigint not null,
  summary     text not null,           -- changes.json `resume`, in French
  unique (code, version)
);
create index pack_versions_build on pack_versions (build_id);
