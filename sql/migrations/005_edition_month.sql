-- A month edition (`2026-08`, Sitadel's monthly files): its kind and key in the backfill function,
-- which test/editions.test.ts checks against src/engine/edition.ts for every kind.
create or replace function edition_key_from_label(label text, out kind text, out key text)
language sql immutable as $$
  select case
           when label ~ '^\d{4}$' then 'year'
           when label ~ '^\d{4}_T[1-4]$' then 'quarter'
           when label ~ '^\d{4}-\d{2}-\d{2}$' then 'date'
           when label ~ '^\d{4}-(0[1-9]|1[0-2])$' then 'month'
           when label ~ '^(presidentielle|legislatives|europeennes|municipales|regionales|departementales|cantonales|senatoriales|referendum)-\d{4}(-t\d)?$' then 'election'
           when label ~ '^[a-z][a-z0-9]*-\d{4}$' then 'series'
           else 'unknown' end,
         case
           when label ~ '^\d{4}$' then label || '-01-01'
           when label ~ '^\d{4}_T[1-4]$' then left(label, 4) || '-' || lpad(((substr(label, 7, 1)::int - 1) * 3 + 1)::text, 2, '0') || '-01'
           when label ~ '^\d{4}-\d{2}-\d{2}$' then label
           when label ~ '^\d{4}-(0[1-9]|1[0-2])$' then label || '-01'
           when label ~ '^(presidentielle|legislatives|europeennes|municipales|regionales|departementales|cantonales|senatoriales|referendum)-\d{4}(-t\d)?$'
             then substring(label from '-(\d{4})') || '-01-01~' || coalesce(substring(label from '-t(\d)$'), '0') || '~' || substring(label from '^([a-z]+)-')
           when label ~ '^[a-z][a-z0-9]*-\d{4}$' then substring(label from '-(\d{4})$') || '-01-01~0~' || substring(label from '^([a-z][a-z0-9]*)-')
           else '0000-00-00~' || label end collate "C"
$$;
