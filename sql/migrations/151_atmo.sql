-- Indice ATMO (Atmo France, national index since 2021: 1 Bon … 6 Extrêmement mauvais,
-- 0 indisponible, 7 événement), one row per commune and day. An index the AASQA publishes for an
-- EPCI is applied to each member commune (echelle = 'epci'); a commune's own value wins that day.
create table atmo_indice (
  date_ech      date not null,
  code_commune  text not null,
  echelle       text not null check (echelle in ('commune', 'epci')),
  code_zone     text not null,          -- code of the zone in the file: commune code or EPCI SIREN
  lib_zone      text,
  code_qual     smallint not null check (code_qual between 0 and 7),
  lib_qual      text not null,          -- our French label of code_qual (the file's may vary)
  coul_qual     text,
  code_no2      smallint check (code_no2 between 0 and 7),
  code_o3       smallint check (code_o3 between 0 and 7),
  code_pm10     smallint check (code_pm10 between 0 and 7),
  code_pm25     smallint check (code_pm25 between 0 and 7),
  code_so2      smallint check (code_so2 between 0 and 7),
  source        text,                   -- the AASQA (Airparif, AtmoSud…)
  codes_sources text[] not null,
  run_id        bigint,
  primary key (date_ech, code_commune)
);
create index atmo_indice_commune on atmo_indice (code_commune, date_ech);
