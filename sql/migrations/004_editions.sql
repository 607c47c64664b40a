-- Typed editions (src/engine/edition.ts): beside each published millésime label, its kind and a
-- sort key (first day of the period, then round and name), so "latest" is chronological and
-- never the text order of labels ('presidentielle-2022-t2' > 'municipales-2026-t1' as text).
alter table published_datasets
  add column edition_kind text,
  add column edition_key  text collate "C";

-- The key of a label, as parseEdition + editionKey compute it, for rows published before this
-- migration (the runner writes both columns itself from now on). test/editions.test.ts checks
-- that it agrees with the TypeScript for every kind.
create function edition_key_from_label(label text, out kind text, out key text)
language sql immutable as $$
  select case
           when label ~ '^\d{4}$' then 'year'
           when label ~ '^\d{4}_T[1-4]$' then 'quarter'
           when label ~ '^\d{4}-\d{2}-\d{2}$' then 'date'
           when label ~ '^(presidentielle|legislatives|europeennes|municipales|regionales|departementales|cantonales|senatoriales|referendum)-\d{4}(-t\d)?$' then 'election'
           when label ~ '^[a-z][a-z0-9]*-\d{4}$' then 'series'
           else 'unknown' end,
         case
           when label ~ '^\d{4}$' then label || '-01-01'
           when label ~ '^\d{4}_T[1-4]$' then left(label, 4) || '-' || lpad(((substr(label, 7, 1)::int - 1) * 3 + 1)::text, 2, '0') || '-01'
           when label ~ '^\d{4}-\d{2}-\d{2}$' then label
           when label ~ '^(presidentielle|legislatives|europeennes|municipales|regionales|departementales|cantonales|senatoriales|referendum)-\d{4}(-t\d)?$'
             then substring(label from '-(\d{4})') || '-01-01~' || coalesce(substring(label from '-t(\d)$'), '0') || '~' || substring(label from '^([a-z]+)-')
           when label ~ '^[a-z][a-z0-9]*-\d{4}$' then substring(label from '-(\d{4})$') || '-01-01~0~' || substring(label from '^([a-z][a-z0-9]*)-')
           else '0000-00-00~' || label end collate "C"
$$;

update published_datasets p set (edition_kind, edition_key) = (select e.kind, e.key from edition_key_from_label(p.millesime) e);
alter table published_datasets alter column edition_kind set not null, alter column edition_key set not null;
create index published_datasets_latest on published_datasets (source, edition_key desc, published_at desc);

-- The latest published millésime of a source, chronologically (pack queries, referential, CLI).
create function latest_edition(p_source text) returns text
language sql stable as $$
  select millesime from published_datasets where source = p_source order by edition_key desc, published_at desc limit 1
$$;
