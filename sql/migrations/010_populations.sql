-- INSEE populations légales, re-coded to the current COG.
-- type: commune-actuelle (merged communes summed, PLM = sum of arrondissements)
--       or arrondissement-municipal (kept as its own row).
create table population_legale (
  millesime     text not null,
  code_commune  text not null,
  type          text not null,
  pmun          int,
  pcap          int,
  ptot          int,
  codes_sources text[] not null,  -- codes of the file summed into this row
  fichier       text not null,
  primary key (millesime, code_commune)
);
alter table population_legale add column annee_recensement text;
