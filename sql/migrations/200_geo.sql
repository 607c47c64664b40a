-- Geography (200–299): commune and département contours, IRIS, QPV, stored in WGS84 (EPSG:4326).
-- `geom` is the full geometry used for spatial joins; `geom_simple` (ST_SimplifyPreserveTopology)
-- is the light one written into packs and pages.

create table commune_contours (
  code_commune  text primary key,            -- current COG (re-coded from the file's COG)
  nom           text,
  departement   text not null,
  geom          geometry(MultiPolygon, 4326) not null,
  geom_simple   geometry(MultiPolygon, 4326) not null,
  cog           int not null,                 -- COG year of the file the contour came from
  codes_sources text[] not null,              -- codes of the file united into this contour
  fichier       text not null
);
create index commune_contours_geom on commune_contours using gist (geom);
create index commune_contours_dep on commune_contours (departement);

create table departement_contours (
  code        text primary key,
  nom         text,
  geom        geometry(MultiPolygon, 4326) not null,
  geom_simple geometry(MultiPolygon, 4326) not null,
  fichier     text not null
);

-- IGN CONTOURS-IRIS. PLM IRIS carry the arrondissement code; code_commune is the commune (75056 …).
create table iris (
  code_iris     text primary key check (code_iris ~ '^(?:[0-9]{2}|2[AB])[0-9]{7}$'),
  nom_iris      text,
  type_iris     text,
  code_insee    text not null,                -- left(code_iris, 5): commune or arrondissement
  code_commune  text not null,
  departement   text not null,
  geom          geometry(MultiPolygon, 4326) not null,
  geom_simple   geometry(MultiPolygon, 4326) not null,
  fichier       text not null
);
create index iris_geom on iris using gist (geom);
create index iris_commune on iris (code_commune);
create index iris_dep on iris (departement);

-- Quartiers prioritaires de la politique de la ville.
create table qpv (
  code_qp     text primary key,
  nom_qp      text,
  commune_qp  text,                           -- as published: one or several commune names
  geom        geometry(MultiPolygon, 4326) not null,
  geom_simple geometry(MultiPolygon, 4326) not null,
  fichier     text not null
);
create index qpv_geom on qpv using gist (geom);

-- qpv × commune bridge: from the published list, cross-checked by intersection with commune contours.
create table qpv_communes (
  code_qp        text not null references qpv(code_qp) on delete cascade,
  code_commune   text not null,
  departement    text not null,
  dans_liste     boolean not null,            -- named in commune_qp
  par_contour    boolean,                     -- intersects the commune contour (null: no contour loaded)
  part_surface   double precision,            -- share of the QPV area inside the commune
  primary key (code_qp, code_commune)
);
create index qpv_communes_commune on qpv_communes (code_commune);
