-- The commune referential (COG) with its history. Codes are text, always: 2A004, 97411.
create table referentiel_meta (key text primary key, value text not null);

create table regions (
  code text primary key, nom text not null, chef_lieu text, zone text not null
);
create table departements (
  code text primary key, nom text not null, region text, chef_lieu text, zone text not null
);
create table arrondissements (
  code text primary key, nom text not null, departement text not null, region text, chef_lieu text
);

-- commune-actuelle, commune-deleguee, commune-associee, arrondissement-municipal.
-- A commune déléguée may share its code with its commune nouvelle (35062), hence the key.
create table communes (
  code            text not null check (code ~ '^([0-9]{5}|2[AB][0-9]{3})$'),
  type            text not null check (type in ('commune-actuelle','commune-deleguee','commune-associee','arrondissement-municipal')),
  nom             text not null,
  departement     text,
  region          text,
  arrondissement  text,
  zone            text,
  siren           text,
  codes_postaux   text[] not null default '{}',
  population      int,
  commune_parent  text,            -- chef-lieu of a déléguée/associée, commune of an arrondissement municipal
  epci            text,
  anciens_codes   text[] not null default '{}',
  primary key (code, type)
);
create index communes_parent on communes (commune_parent);
create index communes_siren on communes (siren);

create table epci (
  code text primary key, nom text not null, type text, mode_financement text, population int
);
create table epci_membres (
  epci text not null references epci(code) on delete cascade, commune text not null, primary key (epci, commune)
);

-- INSEE movements table as published (v_mvt_commune_YYYY), when a mirror provides it.
create table cog_mouvements (
  mod int not null, date_eff date not null,
  typecom_av text, com_av text, libelle_av text,   -- empty for a creation (MOD 20)
  typecom_ap text not null, com_ap text not null, libelle_ap text
);
create index cog_mouvements_av on cog_mouvements (com_av);
create index cog_mouvements_ap on cog_mouvements (com_ap);

-- Any code seen in a source (old commune, déléguée, arrondissement) -> current commune(s).
-- `nature`: actuelle | arrondissement | deleguee | associee | fusion | mouvement.
create table commune_correspondance (
  code        text not null,
  code_actuel text not null,
  nature      text not null,
  date_effet  date,
  primary key (code, code_actuel)
);
create index commune_correspondance_actuel on commune_correspondance (code_actuel);

-- Current commune(s) of a code: exact current code first, then history.
-- When a code splits into several communes, counts cannot be divided: callers keep the
-- commune that kept the code (rétablissement) or quarantine the row.
create view commune_recodage as
select c.code, c.code_actuel, c.nature,
       count(*) over (partition by c.code) as nb_actuelles
from commune_correspondance c;
