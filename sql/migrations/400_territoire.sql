-- API Territoire and catalog side tables (all optional content: empty tables are fine).

-- Datasets of other publishers covering a zone exactly (harvested or declared by an operator):
-- the "real" (class "Dataset") entries of /api/1/spatial/zone/{id}/datasets and the coverage counts.
create table if not exists zone_datasets (
  id         text primary key,
  title      text not null,
  acronym    text,
  uri        text not null,
  page       text not null,
  zones      text[] not null default '{}',   -- undated zone ids: fr:commune:35238, fr:departement:35
  created_at timestamptz not null default now()
);
create index if not exists zone_datasets_zones on zone_datasets using gin (zones);

-- INSEE RDF URIs (http://id.insee.fr/geo/commune/<uuid>) per zone, version-specific, when known:
-- cited as the `uri` of zones and in dct:spatial of the catalog.
create table if not exists insee_geo_uri (
  level text not null,     -- fr:commune | fr:departement | fr:region | fr:epci
  code  text not null,
  uri   text not null,
  primary key (level, code)
);
