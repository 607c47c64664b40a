-- Ministère de l'Intérieur election results per commune, long format, re-coded to the current COG.
-- Communes merged since the vote are summed (codes_sources lists the codes of the file);
-- percentages are computed here from the counts, never taken from the file nor averaged.
create table election_resultat (
  election      text not null,          -- presidentielle-2022, europeennes-2024, …
  tour          int  not null,
  code_commune  text not null,
  inscrits      int,
  votants       int,
  abstentions   int,
  blancs        int,
  nuls          int,
  exprimes      int,
  pct_votants_inscrits     numeric(6,2) generated always as (round(100.0 * votants / nullif(inscrits, 0), 2)) stored,
  pct_abstentions_inscrits numeric(6,2) generated always as (round(100.0 * abstentions / nullif(inscrits, 0), 2)) stored,
  pct_blancs_votants       numeric(6,2) generated always as (round(100.0 * blancs / nullif(votants, 0), 2)) stored,
  pct_nuls_votants         numeric(6,2) generated always as (round(100.0 * nuls / nullif(votants, 0), 2)) stored,
  pct_exprimes_votants     numeric(6,2) generated always as (round(100.0 * exprimes / nullif(votants, 0), 2)) stored,
  codes_sources text[] not null,
  fichier       text not null,
  primary key (election, tour, code_commune)
);

-- One row per candidate (présidentielle, législatives) or list (européennes, municipales) and commune.
create table election_voix (
  election      text not null,
  tour          int  not null,
  code_commune  text not null,
  panneau       int,
  sexe          text,
  nom           text,                   -- candidate's name, or NULL for a list
  prenom        text,
  libelle       text,                   -- list label, or NULL for a candidate
  nuance        text,
  voix          int,
  pct_voix_inscrits numeric(6,2),       -- recomputed: 100 × voix / inscrits of the (summed) commune
  pct_voix_exprimes numeric(6,2)        -- recomputed: 100 × voix / exprimés of the (summed) commune
);
create unique index election_voix_key on election_voix (election, tour, code_commune, coalesce(panneau, -1), coalesce(nom, ''), coalesce(prenom, ''), coalesce(libelle, ''));
create index election_voix_commune on election_voix (code_commune);
