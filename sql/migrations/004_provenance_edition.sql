-- The edition each input file says it is (read from the resource's title, URL, file name or
-- data.gouv.fr metadata, or stated by the operator with --millesime), where it was read, and the
-- data.gouv.fr dataset and resource the file was found through. Never a file date.
alter table provenance add column edition text;
alter table provenance add column edition_from text;
alter table provenance add column upstream jsonb;
