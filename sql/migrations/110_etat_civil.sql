-- INSEE état civil: live births (LVB) and deaths (DTH) domiciled in the commune, per year,
-- re-coded to the current COG (merged communes summed, PLM = sum of arrondissements).
create table etat_civil (
  millesime     text not null,   -- edition of the INSEE file (last year covered)
  code_commune  text not null,
  type          text not null,
  annee         int  not null,
  naissances    int,
  deces         int,
  codes_sources text[] not null,
  primary key (millesime, code_commune, annee)
);
