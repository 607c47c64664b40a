-- Contours of départements, régions and EPCI for the geo.api routes and the API Territoire,
-- computed once in SQL from the commune contours (200_geo.sql) and kept in `zone_contours`.
--
-- Rules (a zone gets a contour only when it is complete; a partial union would be a wrong shape):
--   * département: the official outline of `departement_contours` when loaded, else the union of
--     its communes' contours when every current commune of the département has one;
--   * région: the union of its départements' contours when every département has one;
--   * EPCI: the union of its member communes' contours when every member has one.
-- `surface_ha` is measured on the full geometries (sum of the communes' areas for a union);
-- `geom_simple` is what the API serves.
--
-- Any change to the source tables marks the table stale (statement triggers bump `generation`);
-- `zone_contours_refresh()` rebuilds it when stale. The server calls it before it reads these
-- contours (src/server/geo/geometry.ts), so it runs once after each load, never per request.

create table if not exists zone_contours (
  level        text not null check (level in ('departement', 'region', 'epci')),
  code         text not null,
  geom         geometry(MultiPolygon, 4326) not null,
  geom_simple  geometry(MultiPolygon, 4326) not null,
  surface_ha   double precision not null,
  communes     int not null,                  -- communes covered
  origine      text not null,                 -- departement_contours | communes | departements
  primary key (level, code)
);

create table if not exists zone_contours_state (
  id          boolean primary key default true check (id),
  generation  bigint not null default 1,      -- bumped by every change to a source table
  built       bigint not null default 0,      -- generation zone_contours was built from
  built_at    timestamptz
);
insert into zone_contours_state (id) values (true) on conflict do nothing;

create or replace function zone_contours_touch() returns trigger
language plpgsql as $$
begin
  update zone_contours_state set generation = generation + 1;
  return null;
end
$$;

drop trigger if exists zone_contours_touch on commune_contours;
create trigger zone_contours_touch after insert or update or delete or truncate on commune_contours
  for each statement execute function zone_contours_touch();
drop trigger if exists zone_contours_touch on departement_contours;
create trigger zone_contours_touch after insert or update or delete or truncate on departement_contours
  for each statement execute function zone_contours_touch();
drop trigger if exists zone_contours_touch on communes;
create trigger zone_contours_touch after insert or update or delete or truncate on communes
  for each statement execute function zone_contours_touch();
drop trigger if exists zone_contours_touch on epci_membres;
create trigger zone_contours_touch after insert or update or delete or truncate on epci_membres
  for each statement execute function zone_contours_touch();

-- Rebuilds zone_contours when stale; returns the number of zones with a contour, or -1 when it
-- was already up to date. Concurrent callers wait for each other (the second one finds it built).
create or replace function zone_contours_refresh() returns int
language plpgsql as $$
declare
  g bigint;
  n int;
begin
  perform pg_advisory_xact_lock(4242401);
  select generation into g from zone_contours_state where built = generation;
  if found then return -1; end if;
  select generation into g from zone_contours_state;
  delete from zone_contours;

  insert into zone_contours (level, code, geom, geom_simple, surface_ha, communes, origine)
  select 'departement', d.code, dc.geom, geo_simple(dc.geom, 0.0005),
         st_area(dc.geom::geography) / 10000,
         (select count(*) from communes c where c.type = 'commune-actuelle' and c.departement = d.code), 'departement_contours'
    from departements d join departement_contours dc on dc.code = d.code;

  insert into zone_contours (level, code, geom, geom_simple, surface_ha, communes, origine)
  select 'departement', u.departement, u.geom, geo_simple(u.geom, 0.0005), u.surface, u.n, 'communes'
    from (select c.departement, geo_multipolygon(st_union(k.geom)) as geom,
                 sum(st_area(k.geom::geography)) / 10000 as surface, count(*)::int as n
            from communes c join commune_contours k on k.code_commune = c.code
           where c.type = 'commune-actuelle'
             and exists (select 1 from departements d where d.code = c.departement)
             and not exists (select 1 from departement_contours dc where dc.code = c.departement)
           group by c.departement
          having count(*) = (select count(*) from communes x where x.type = 'commune-actuelle' and x.departement = c.departement)) u
   where u.geom is not null;

  insert into zone_contours (level, code, geom, geom_simple, surface_ha, communes, origine)
  select 'region', u.region, u.geom, geo_simple(u.geom, 0.001), u.surface, u.n, 'departements'
    from (select d.region, geo_multipolygon(st_union(z.geom)) as geom, sum(z.surface_ha) as surface, sum(z.communes)::int as n
            from departements d join zone_contours z on z.level = 'departement' and z.code = d.code
           where d.region is not null
           group by d.region
          having count(*) = (select count(*) from departements x where x.region = d.region)) u
   where u.geom is not null;

  insert into zone_contours (level, code, geom, geom_simple, surface_ha, communes, origine)
  select 'epci', u.epci, u.geom, geo_simple(u.geom, 0.0005), u.surface, u.n, 'communes'
    from (select m.epci, geo_multipolygon(st_union(k.geom)) as geom,
                 sum(st_area(k.geom::geography)) / 10000 as surface, count(*)::int as n
            from epci_membres m join commune_contours k on k.code_commune = m.commune
           group by m.epci
          having count(*) = (select count(*) from epci_membres x where x.epci = m.epci)) u
   where u.geom is not null;

  -- The inserts above do not touch the source tables: `generation` is still g.
  update zone_contours_state set built = g, built_at = now();
  select count(*) into n from zone_contours;
  return n;
end
$$;
