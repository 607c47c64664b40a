-- Sitadel (SDES): housing units authorised and started per commune and year, and the recent
-- authorisations creating housing, one by one (one snapshot: the latest monthly file).
create table permis_logements_annee (
  code_commune        text not null,
  type                text not null,
  annee               int not null,
  logements_autorises int not null,   -- NB_LGT_TOT_CREES of the authorisations of the year (DATE_REELLE_AUTORISATION)
  dont_individuels    int not null,
  dont_collectifs     int not null,
  autorisations       int not null,   -- authorisations creating housing granted that year
  logements_commences int not null,   -- NB_LGT_TOT_CREES of the works started that year (DATE_REELLE_DOC)
  primary key (code_commune, annee)
);

create table permis_construire (
  code_commune      text not null,
  type              text not null,
  code_source       text not null,   -- COMM as in the file
  numero            text not null,   -- NUM_DAU
  type_autorisation text,            -- PC, DP…
  etat              text,            -- ETAT_DAU as in the file
  date_autorisation date,
  date_chantier     date,            -- opening of the works (DATE_REELLE_DOC)
  date_achevement   date,            -- DATE_REELLE_DAACT
  adresse           text,
  code_postal       text,
  parcelles         text,
  nature_projet     text,
  destination       text,
  logements         int,
  individuels       int,
  collectifs        int,
  surface_habitable numeric,
  demandeur         text,            -- DENOM_DEM: legal persons only (natural persons are not published)
  siren_demandeur   text,
  fichier           text not null,
  ligne             bigint not null,
  primary key (code_commune, numero)
);
