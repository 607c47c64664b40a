-- INSEE Base permanente des équipements (BPE): the points and the counts per commune × TYPEQU.
create table equipement (
  millesime        text not null,
  code_commune     text not null,   -- current commune (PLM: Paris, Lyon, Marseille)
  code_source      text not null,   -- DEPCOM as in the file (arrondissement for PLM)
  typequ           text not null,
  dciris           text,
  qualite_xy       text,
  geom             geometry(Point, 4326),
  fichier          text not null,
  ligne            bigint not null
);
create index equipement_commune on equipement (millesime, code_commune);

create table equipement_compte (
  millesime     text not null,
  code_commune  text not null,
  type          text not null,      -- commune-actuelle | arrondissement-municipal
  typequ        text not null,
  nombre        int  not null,
  codes_sources text[] not null,
  primary key (millesime, code_commune, typequ)
);

-- Nomenclature of equipment types, per vintage range (codes were renumbered with BPE 2021).
create table equipement_type (
  typequ       text not null,
  libelle      text not null,
  domaine      text not null,
  annee_debut  int  not null,
  annee_fin    int,               -- null: still in use
  primary key (typequ, annee_debut)
);
insert into equipement_type (typequ, libelle, domaine, annee_debut, annee_fin) values
  ('A203', 'Banque, caisse d''épargne', 'Services aux particuliers', 2021, null),
  ('A206', 'Bureau de poste', 'Services aux particuliers', 2021, null),
  ('A504', 'Restaurant, restauration rapide', 'Services aux particuliers', 2021, null),
  ('B104', 'Hypermarché', 'Commerces', 2021, null),
  ('B105', 'Supermarché', 'Commerces', 2021, null),
  ('B201', 'Supérette', 'Commerces', 2021, null),
  ('B202', 'Épicerie', 'Commerces', 2021, null),
  ('B207', 'Boulangerie-pâtisserie', 'Commerces', 2021, null),
  ('C107', 'École maternelle', 'Enseignement', 2021, null),
  ('C108', 'École primaire', 'Enseignement', 2021, null),
  ('C109', 'École élémentaire', 'Enseignement', 2021, null),
  ('C201', 'Collège', 'Enseignement', 2021, null),
  ('C301', 'Lycée', 'Enseignement', 2021, null),
  ('D106', 'Urgences', 'Santé et action sociale', 2021, null),
  ('D201', 'Médecin omnipraticien', 'Santé et action sociale', 2000, 2020),
  ('D265', 'Médecin généraliste', 'Santé et action sociale', 2021, null),
  ('D277', 'Chirurgien-dentiste', 'Santé et action sociale', 2021, null),
  ('D281', 'Infirmier', 'Santé et action sociale', 2021, null),
  ('D307', 'Pharmacie', 'Santé et action sociale', 2021, null),
  ('D502', 'Établissement d''accueil du jeune enfant', 'Santé et action sociale', 2021, null);
