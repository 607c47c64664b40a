-- The pack build reads a département's census values at once (`code_commune = any($1)`): the
-- primary key leads with the millésime, so that read was a sequential scan of every commune's
-- values (3.5 million rows for one edition, ≈ 0.5 s per département, a hundred times per build).
create index recensement_valeur_commune on recensement_valeur (code_commune, millesime, variable, annee);
