-- Annuaire de l'éducation: the écoles, collèges, lycées and EREA of each commune (one snapshot: the
-- latest extract). A school of a Paris, Lyon or Marseille arrondissement is listed under the
-- arrondissement and under its city (type tells which).
create table education_etablissement (
  uai                   text not null,
  code_commune          text not null,   -- current commune (or arrondissement municipal)
  type                  text not null,   -- commune-actuelle | arrondissement-municipal
  code_source           text not null,   -- Code_commune as in the file
  nom                   text,
  type_etablissement    text not null,   -- Ecole, Collège, Lycée, EREA
  nature                text,            -- libelle_nature (ECOLE MATERNELLE, LYCEE PROFESSIONNEL…)
  statut                text,            -- Public | Privé
  contrat_prive         text,
  adresse               text,
  code_postal           text,
  libelle_commune       text,
  education_prioritaire text,
  etat                  text,            -- OUVERT, A FERMER, A OUVRIR
  date_ouverture        date,
  date_maj              date,
  latitude              double precision,
  longitude             double precision,
  geom                  geometry(Point, 4326),
  fichier               text not null,
  ligne                 bigint not null,
  primary key (code_commune, uai)
);
create index education_etablissement_uai on education_etablissement (uai);

-- Indices de position sociale (DEPP), one row per establishment, level and rentrée; rentrées accumulate.
create table education_ips (
  rentree          text not null,   -- 2022-2023
  niveau           text not null check (niveau in ('ecole', 'college', 'lycee')),
  uai              text not null,
  code_commune     text not null,
  type             text not null,
  code_source      text not null,
  nom              text,
  secteur          text,
  type_lycee       text,
  effectifs        numeric,
  ips              numeric,         -- null when not published (NS)
  ecart_type       numeric,
  ips_voie_gt      numeric,
  ips_voie_pro     numeric,
  fichier          text not null,
  ligne            bigint not null,
  primary key (code_commune, rentree, niveau, uai)
);

-- What the publication guard measures (src/engine/guard.ts): every row of the source, by commune.
create view education_lignes as
  select code_commune from education_etablissement
  union all
  select code_commune from education_ips;
