-- Helpers for geometry loading: tolerant parsing (a bad feature goes to quarantine, not an error)
-- and normalisation to valid MultiPolygons in WGS84.

-- Parses a GeoJSON geometry; null when it is not valid GeoJSON. SRID 4326 unless the
-- geometry names another CRS (old GeoJSON "crs" member), in which case it is transformed.
create or replace function geo_try_geojson(g text) returns geometry
language plpgsql immutable parallel safe as $$
declare r geometry;
begin
  if g is null or g = 'null' then return null; end if;
  r := ST_GeomFromGeoJSON(g);
  if ST_SRID(r) = 0 then r := ST_SetSRID(r, 4326);
  elsif ST_SRID(r) <> 4326 then r := ST_Transform(r, 4326);
  end if;
  return r;
exception when others then
  return null;
end
$$;

-- Valid MultiPolygon (polygonal part of ST_MakeValid), or null when nothing polygonal is left.
create or replace function geo_multipolygon(g geometry) returns geometry
language sql immutable parallel safe as $$
  select case when m is null or ST_IsEmpty(m) then null else m end
    from (select ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3)) as m) x
$$;

-- Simplified geometry for packs and pages (tolerance in degrees: 0.0001 ≈ 10 m).
create or replace function geo_simple(g geometry, tol double precision default 0.0001) returns geometry
language sql immutable parallel safe as $$
  select ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SimplifyPreserveTopology(g, tol)), 3))
$$;

-- Département of a commune code: 3 characters overseas (97x, 98x), else 2 (2A, 2B kept).
create or replace function geo_departement(code text) returns text
language sql immutable parallel safe as $$
  select case when code ~ '^9[78]' then left(code, 3) else left(code, 2) end
$$;

-- Commune of an arrondissement municipal (Paris, Lyon, Marseille), else the code itself.
create or replace function geo_commune_plm(code text) returns text
language sql immutable parallel safe as $$
  select case when code between '75101' and '75120' then '75056'
              when code between '69381' and '69389' then '69123'
              when code between '13201' and '13216' then '13055'
              else code end
$$;

-- Parses JSON text; null when it is not valid JSON (the feature then goes to quarantine).
create or replace function geo_try_jsonb(t text) returns jsonb
language plpgsql immutable parallel safe as $$
begin
  return t::jsonb;
exception when others then
  return null;
end
$$;

-- Lower-case, unaccented, punctuation-free form of a commune name, for matching names to codes
-- ("Saint-Herblain", "ST HERBLAIN" and "saint herblain" compare equal).
create or replace function geo_nom_norm(n text) returns text
language sql immutable parallel safe as $$
  select trim(regexp_replace(regexp_replace(regexp_replace(
           translate(lower(n), 'àâäáãåçéèêëíìîïñóòôöõúùûüýÿœæ''’-', 'aaaaaaceeeeiiiinooooouuuuyyoa   '),
           '\mste\M', 'sainte', 'g'), '\mst\M', 'saint', 'g'), '\s+', ' ', 'g'))
$$;
