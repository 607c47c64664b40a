-- Version of each commune's slice of a source kept as one snapshot (associations, marchés publics,
-- élus): a digest of the rows the commune's pack takes from it, written in the source's publishing
-- transaction (src/packs/slices.ts). A pack section's sliceVersion reads it, so a new edition
-- rebuilds only the packs whose rows changed.
create table source_slices (
  source  text not null,
  code    text not null,
  version text not null,
  primary key (source, code)
);
