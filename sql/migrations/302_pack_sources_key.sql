-- The published datasets (source, millésime, run) a pack was last checked against: when none of
-- its sources was republished since, the pack is known unchanged without reading any row.
alter table pack_builds add column sources_key text;
