-- Geometries are taken as given or refused, never repaired: ST_MakeValid turns a bowtie (a
-- self-intersecting ring) into two triangles, another shape than the producer's, without a word.
-- A feature whose geometry is out of range, not polygonal or invalid is quarantined with the
-- reason below, and the caller keeps what was published for it (pipelines/contours).

-- Why a geometry cannot be published as a polygon, or null when it can.
create or replace function geo_geometry_problem(g geometry) returns text
language sql immutable parallel safe as $$
  select case
    when g is null then 'no geometry'
    when ST_IsEmpty(g) then 'empty geometry'
    when ST_XMin(g) < -180 or ST_XMax(g) > 180 or ST_YMin(g) < -90 or ST_YMax(g) > 90 then
      format('coordinates out of range (longitude %s to %s, latitude %s to %s)',
             trim_scale(round(ST_XMin(g)::numeric, 6)), trim_scale(round(ST_XMax(g)::numeric, 6)),
             trim_scale(round(ST_YMin(g)::numeric, 6)), trim_scale(round(ST_YMax(g)::numeric, 6)))
    when ST_IsEmpty(ST_CollectionExtract(g, 3)) then 'not a polygon (' || GeometryType(g) || ')'
    -- ST_IsValidDetail rather than ST_IsValid: the same test, without a NOTICE per invalid feature.
    when not (ST_IsValidDetail(g)).valid then
      'invalid polygon, not repaired: ' || (ST_IsValidDetail(g)).reason || coalesce(' at ' || ST_AsText((ST_IsValidDetail(g)).location), '')
  end
$$;

-- MultiPolygon of a geometry that has no problem (above), else null. Replaces the ST_MakeValid version of 202.
create or replace function geo_multipolygon(g geometry) returns geometry
language sql immutable parallel safe as $$
  select case when geo_geometry_problem(g) is null then ST_Multi(ST_CollectionExtract(g, 3)) end
$$;
