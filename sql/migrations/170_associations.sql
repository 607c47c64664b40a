-- Répertoire national des associations (Ministère de l'Intérieur): the associations whose siège is in
-- the commune, one snapshot (the latest monthly extract).
create table association (
  code_commune        text not null,   -- current commune, or arrondissement municipal (an association of 75114 is in 75114 and 75056)
  type                text not null,   -- commune-actuelle | arrondissement-municipal
  registre            text not null check (registre in ('waldec', 'import')),
  departement_fichier text,            -- département of the file it came from (rna_waldec_…_dpt_XX.csv)
  id                  text not null,   -- numéro RNA (W…)
  id_ex               text,            -- former préfecture number
  siret               text,
  titre               text,
  titre_court         text,
  objet               text,
  objet_social1       text,            -- code of the nomenclature of social objects (6 digits)
  objet_social2       text,
  date_creation       date,
  date_declaration    date,
  date_publication    date,
  date_dissolution    date,
  position            text,            -- A active, D dissoute, S supprimée
  nature              text,
  groupement          text,
  adresse             text,
  code_postal         text,
  libelle_commune     text,
  code_source         text not null,   -- adrs_codeinsee as in the file (or found from the postcode)
  par_code_postal     boolean not null default false,
  site_web            text,
  maj                 timestamp,
  fichier             text not null,
  ligne               bigint not null
);
create index association_commune on association (code_commune, id);

-- Families of the nomenclature of social objects (« domaines d'activité » of the Journal officiel des
-- associations, DILA, dataset joafe_domaine_activite): a 6-digit code belongs to the family of its
-- first three digits. Labels as the DILA writes them, copied from a 2026 extract of that dataset
-- made by a third party (CedricMabilotte/domainedumons-site data/associations.json, field
-- « familles », from rna_waldec_20260901); 000000 is the RNA's « no code ».
create table association_theme (
  code    text primary key,
  libelle text not null
);
insert into association_theme (code, libelle) values
  ('000000', 'Thème non renseigné'),
  ('001000', 'activités politiques'),
  ('002000', 'clubs, cercles de réflexion'),
  ('003000', 'défense de droits fondamentaux, activités civiques'),
  ('004000', 'justice'),
  ('005000', 'information communication'),
  ('006000', 'culture, pratiques d’activités artistiques, culturelles'),
  ('007000', 'clubs de loisirs, relations'),
  ('009000', 'action socio-culturelle'),
  ('010000', 'préservation du patrimoine'),
  ('011000', 'Sports, activités de plein air'),
  ('013000', 'chasse pêche'),
  ('014000', 'amicales, groupements affinitaires, groupements d''entraide (hors défense de droits fondamentaux'),
  ('015000', 'éducation formation'),
  ('016000', 'recherche'),
  ('017000', 'santé'),
  ('018000', 'services et établissements médico-sociaux'),
  ('019000', 'interventions sociales'),
  ('020000', 'associations caritatives, humanitaires, aide au développement, développement du bénévolat'),
  ('021000', 'services familiaux, services aux personnes âgées'),
  ('022000', 'conduite d’activités économiques'),
  ('023000', 'représentation, promotion et défense d’intérêts économiques'),
  ('024000', 'Environnement, cadre de vie'),
  ('030000', 'aide à l''emploi, développement local, promotion de solidarités économiques, vie locale'),
  ('032000', 'logement'),
  ('034000', 'Tourisme'),
  ('036000', 'sécurité, protection civile'),
  ('038000', 'armée (dont préparation militaire, médailles)'),
  ('040000', 'activités religieuses, spirituelles ou philosophiques'),
  ('050000', 'Domaines Divers');

-- Counts per commune and family of the first social object, the same association once (written at publication).
create table association_compte (
  code_commune text not null,
  theme        text not null,
  actives      int  not null,
  dissoutes    int  not null,
  autres       int  not null,   -- supprimée (S) or a position the file does not explain
  primary key (code_commune, theme)
);
