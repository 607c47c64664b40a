-- Commune packs: one row per commune (actuelle or arrondissement municipal) with a published pack.
-- `fingerprint` = published datasets (millésime + run) of the pack's sources + hash of the commune's rows:
-- an unchanged fingerprint means the pack is not rebuilt.
create table pack_builds (
  code        text primary key,
  fingerprint text not null,
  version     text not null,          -- latest version (file PACKS_DIR/<code>/<version>.zip)
  sha256      text not null,          -- of the latest ZIP (its ETag)
  bytes       bigint not null,
  millesime   text,                   -- COG millésime of the referential the pack is cut in
  donnees     jsonb not null default '{}',  -- per source: millésime and row counts (for GET /communes/:code)
  built_at    timestamptz not null default now(),
  checked_at  timestamptz not null default now()
);
