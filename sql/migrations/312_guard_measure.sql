-- The publication guard's measure of what each publication left published (rows and communes,
-- in all and by département; src/engine/guard.ts). The next publication compares itself with
-- this record instead of scanning the published table again (26 M rows for the BAN: 29 s).
alter table published_datasets add column if not exists measure jsonb;
