-- The commune as it voted. A local scrutin (municipales) keeps, for a commune merged since the
-- vote, one set of lists per former commune (list 1 of Oullins is not list 1 of Pierre-Bénite);
-- a national candidate's votes are summed under the current commune, which is then the value.
alter table election_voix add column commune_scrutin text;
update election_voix set commune_scrutin = code_commune where commune_scrutin is null;
alter table election_voix alter column commune_scrutin set not null;
drop index election_voix_key;
create unique index election_voix_key on election_voix
  (election, tour, code_commune, commune_scrutin, coalesce(panneau, -1), coalesce(nom, ''), coalesce(prenom, ''), coalesce(libelle, ''));
