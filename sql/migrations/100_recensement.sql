-- INSEE census, bases communales (base-cc-*) and Melodi DS_* files, stored long and re-coded
-- to the current COG. type: commune-actuelle (merged communes summed, PLM = sum of
-- arrondissements) or arrondissement-municipal (kept as its own row).
-- valeur NULL = not published by INSEE (secret, not computable), never 0.
create table recensement_valeur (
  millesime     text not null,
  code_commune  text not null,
  type          text not null,
  variable      text not null,   -- P22_POP, C22_MENPSEUL, or DS_RP_POPULATION_PRINC:AGE=Y_LT15;SEX=_T…
  annee         int  not null,   -- census year of the variable (P16_POP in the 2022 file → 2016)
  valeur        numeric,
  primary key (millesime, code_commune, variable, annee)
);

-- Codes of the INSEE file summed into each row (one line per commune and millésime).
create table recensement_commune (
  millesime     text not null,
  code_commune  text not null,
  type          text not null,
  codes_sources text[] not null,
  primary key (millesime, code_commune)
);

-- Variable labels from the metadata file shipped in the archive (meta_base-cc-*.CSV, DS_*_metadata.csv).
create table recensement_variable (
  millesime  text not null,
  variable   text not null,
  libelle    text,
  fichier    text not null,
  primary key (millesime, variable)
);
