-- Répertoire national des élus (Ministère de l'Intérieur): the maires and the conseillers
-- municipaux of each commune, as the register publishes them (one snapshot: the latest extract).
create table elu_municipal (
  mandat              text not null check (mandat in ('maire', 'conseiller')),
  code_commune        text not null,   -- current commune
  type                text not null,   -- commune-actuelle (the register names Paris, Lyon, Marseille whole)
  code_source         text not null,   -- « Code de la commune » as in the file
  libelle_commune     text,
  nom                 text not null,
  prenom              text not null,
  sexe                text,
  date_naissance      date,
  code_csp            text,
  libelle_csp         text,
  date_debut_mandat   date,
  fonction            text,            -- conseillers: « Libellé de la fonction » (maire, adjoint…), empty for a conseiller
  date_debut_fonction date,
  code_nationalite    text,
  fichier             text not null,
  ligne               bigint not null
);
create index elu_municipal_commune on elu_municipal (code_commune, mandat);
