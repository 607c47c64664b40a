-- TNCC ("type de nom en clair") of the COG: the article a commune's name starts with and the
-- charnière that links it ("de Rennes", "du Havre", "des Abymes"); see src/communes/names.ts.
-- NULL where the referential does not give it (collectivités d'outre-mer in the npm package).
alter table communes add column if not exists tncc smallint check (tncc between 0 and 8);
