-- FINESS: geolocated health and social establishments of each commune (one snapshot: the latest
-- extract). Under both its arrondissement and its city in Paris, Lyon and Marseille.
create table sante_etablissement (
  nofinesset                text not null,
  code_commune              text not null,
  type                      text not null,
  code_source               text not null,   -- departement + commune of the record, as a code INSEE
  nofinessej                text,
  nom                       text,
  categorie                 text,
  libelle_categorie         text,
  categorie_agregee         text,
  libelle_categorie_agregee text,
  adresse                   text,
  code_postal               text,
  libelle_acheminement      text,
  telephone                 text,
  siret                     text,
  date_ouverture            date,
  geom                      geometry(Point, 4326),
  source_coordonnees        text,
  fichier                   text not null,
  ligne                     bigint not null,
  primary key (code_commune, nofinesset)
);

-- Annuaire Santé (RPPS): health professionals counted per commune of practice and profession, and
-- per savoir-faire (specialty); no name is kept. A professional practising in several communes
-- counts in each; within a commune (or a city of arrondissements) once.
create table sante_profession (
  code_commune       text not null,
  type               text not null,
  code_profession    text not null,
  libelle_profession text,
  professionnels     int not null,
  liberaux           int not null,
  primary key (code_commune, code_profession)
);
create table sante_savoir_faire (
  code_commune         text not null,
  type                 text not null,
  code_profession      text not null,
  libelle_profession   text,
  type_savoir_faire    text,
  code_savoir_faire    text not null,
  libelle_savoir_faire text,
  professionnels       int not null,
  liberaux             int not null,
  primary key (code_commune, code_profession, code_savoir_faire)
);

-- What the publication guard measures (src/engine/guard.ts): every row of the source, by commune.
create view sante_lignes as
  select code_commune from sante_etablissement
  union all
  select code_commune from sante_profession;
