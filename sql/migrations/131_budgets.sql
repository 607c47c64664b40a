-- Communes' accounts, re-coded to the current COG. Amounts in euros; per-inhabitant figures are
-- computed here from the summed amounts and populations (never averaged). Empty = NULL, never 0.

-- OFGL "comptes des communes": one row per commune × exercice × type de budget × agrégat;
-- the SIRENs of a merged commune are summed under its current code.
create table budget_ofgl (
  exercice      int  not null,
  code_commune  text not null,
  type_budget   text not null,
  agregat       text not null,
  montant       numeric,               -- euros
  population    int,                   -- population totale (sum over the distinct SIRENs' budgets principaux)
  euros_par_habitant numeric generated always as (round(montant / nullif(population, 0), 2)) stored,
  sirens        text[] not null,
  codes_sources text[] not null,
  fichier       text not null,
  primary key (exercice, code_commune, type_budget, agregat)
);

-- DGFiP "comptes individuels des communes": one row per commune × année × agrégat (column stem
-- of the file, e.g. prod, charge, dette), amounts converted from k€ to euros.
create table budget_dgfip (
  exercice      int  not null,
  code_commune  text not null,
  agregat       text not null,
  libelle       text,
  montant       numeric,               -- euros (file: k€ × 1000)
  population    int,                   -- pop1 of the file, summed over merged communes
  euros_par_habitant numeric generated always as (round(montant / nullif(population, 0), 2)) stored,
  codes_sources text[] not null,
  fichier       text not null,
  primary key (exercice, code_commune, agregat)
);
create index budget_ofgl_commune on budget_ofgl (code_commune);
create index budget_dgfip_commune on budget_dgfip (code_commune);
