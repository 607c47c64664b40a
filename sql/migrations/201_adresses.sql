-- Base Adresse Nationale, LIST-partitioned by département: one partition per département,
-- named adresses_d_<dep> (lower case), swapped alone in one transaction when its file is reloaded.
-- BAN columns are kept as published (text) so a commune can start its Base Adresse Locale from them.
create table adresses (
  departement                  text collate "C" not null,
  code_commune                 text collate "C" not null,   -- current commune (Paris/Lyon/Marseille for their arrondissements)
  id                           text,
  id_fantoir                   text,
  numero                       text,
  rep                          text,
  nom_voie                     text,
  code_postal                  text,
  code_insee                   text not null,   -- as published: the arrondissement for PLM
  nom_commune                  text,
  code_insee_ancienne_commune  text,
  nom_ancienne_commune         text,
  x                            text,            -- in the territory's legal projection: never used as such
  y                            text,
  lon                          double precision not null,
  lat                          double precision not null,
  type_position                text,
  alias                        text,
  nom_ld                       text,
  libelle_acheminement         text,
  nom_afnor                    text,
  source_position              text,
  source_nom_voie              text,
  certification_commune        text,
  cad_parcelles                text,
  geom                         geometry(Point, 4326) not null,
  code_iris                    text,            -- enrichment (src/geo/enrich.ts)
  code_qp                      text,
  line                         bigint not null  -- line in the published file (header = 1)
) partition by list (departement);
create index adresses_code_commune on adresses (code_commune);

-- One row per published département partition: what was loaded, and what the enrichment used.
create table adresses_departements (
  departement   text primary key,
  run_id        bigint references runs(id) on delete set null,
  fichier       text not null,
  rows          bigint not null,
  published_at  timestamptz not null default now(),
  enrich_digest text,          -- digest of the IRIS/QPV polygons the enrichment used (null: not enriched)
  enriched_at   timestamptz
);
