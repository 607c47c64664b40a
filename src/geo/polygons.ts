import type { RunContext } from '../engine/pipeline';

/** `staging."t"` + `_p` → `staging."t_p"` (a sibling table of a staging table, dropped with the run's). */
export function sibling(qualified: string, suffix: string): string {
  return qualified.endsWith('"') ? `${qualified.slice(0, -1)}${suffix}"` : `${qualified}${suffix}`;
}

export interface PolygonSpec {
  /** SQL expression over `p` (the feature's properties, jsonb, names in lower case) giving the code. */
  code: string;
  /** SQL expression over `p` giving the name. */
  nom: string;
  /** Regex the code must match (else quarantine). */
  codePattern: string;
  /** Other columns: name → SQL expression over `p`. */
  extra?: Record<string, string>;
}

/**
 * The feature's properties with their names in lower case: producers write `TYP_IRIS` or
 * `typ_iris`, `DCOMIRIS` or `dcomiris`, so every spec names properties in lower case.
 */
const LOWER_KEYS = `(case when jsonb_typeof(j->'properties') = 'object'
  then (select coalesce(jsonb_object_agg(lower(k), v), '{}'::jsonb) from jsonb_each(j->'properties') as e(k, v))
  else '{}'::jsonb end)`;

/**
 * A text property holding a code that may have been written as a JSON number (an OpenDataSoft
 * republication writes `"insee_com": 1004` for 01004): left-padded with zeros to `width`
 * when it is all digits and shorter.
 */
export const paddedCode = (expr: string, width: number) =>
  `(case when ${expr} ~ '^[0-9]+$' and length(${expr}) < ${width} then lpad(${expr}, ${width}, '0') else ${expr} end)`;

/**
 * The table `(code)` of the codes parseStagedPolygons refused for their geometry alone (invalid,
 * out of range, not polygonal): a pipeline replacing published shapes keeps those communes' own.
 */
export function badGeometryTable(parsed: string): string {
  return sibling(parsed, '_bg');
}

/**
 * Parses staged GeoJSON features (from stageFeatures) in SQL into a second staging table
 * `(line, fichier, code, nom, <extra>, geom, raw)` (the staging contract) with valid WGS84 MultiPolygons. Features that are not
 * JSON, have no valid code, or a geometry that is missing, out of range, not polygonal or invalid
 * (never repaired: see migration 203) go to quarantine with their rank and the reason;
 * ctx.counters.loaded gains the accepted ones. Returns the parsed table's name.
 */
export async function parseStagedPolygons(ctx: RunContext, staged: string, label: string, spec: PolygonSpec): Promise<string> {
  const extra = Object.entries(spec.extra ?? {});
  const parsed = sibling(staged, '_p');
  await ctx.db.query(`drop table if exists ${parsed}`);
  await ctx.db.query(
    `create unlogged table ${parsed} as
     select line, '${label.replace(/'/g, "''")}'::text as fichier, nullif(trim(${spec.code}), '') as code, nullif(trim(${spec.nom}), '') as nom,
            ${extra.map(([k, e]) => `${e} as ${k}, `).join('')}
            geo_multipolygon(g) as geom,
            case when f->'geometry' is null or jsonb_typeof(f->'geometry') = 'null' then 'no geometry'
                 when g is null then 'a geometry that is not valid GeoJSON'
                 else geo_geometry_problem(g) end as problem,
            j is not null as json_ok, left(feature, 2000) as raw
       from (select line, feature, geo_try_jsonb(feature) as j from ${staged}) s
       cross join lateral (select j as f, ${LOWER_KEYS} as p) x
       cross join lateral (select geo_try_geojson(j->>'geometry') as g) y`,
  );
  // Codes whose feature was refused for its geometry alone: the caller keeps what was published for them.
  await ctx.db.query(`drop table if exists ${badGeometryTable(parsed)}`);
  const pattern = `'${spec.codePattern.replace(/'/g, "''")}'`; // CREATE TABLE AS takes no parameters
  await ctx.db.query(
    `create unlogged table ${badGeometryTable(parsed)} as select distinct code from ${parsed} where json_ok and code ~ ${pattern} and geom is null`,
  );
  const n = (await ctx.db.query(`select count(*)::int as n from ${parsed}`)).rows[0].n as number;
  const bad = await ctx.quarantine.addFromSql(
    `select $1::text as file, line, raw,
            case when not json_ok then 'feature ' || line || ' is not valid JSON'
                 when code is null then 'feature ' || line || ': no code in the properties'
                 when code !~ $2 then 'feature ' || line || ': invalid code ''' || code || ''''
                 else 'feature ' || line || ' (' || code || '): ' || coalesce(problem, 'no polygon geometry') end as reason
       from ${parsed} where not json_ok or code is null or code !~ $2 or geom is null`,
    [label, spec.codePattern],
  );
  await ctx.db.query(`delete from ${parsed} where not json_ok or code is null or code !~ $1 or geom is null`, [spec.codePattern]);
  // Two features with the same code (a commune in two pieces): kept, united by the caller.
  ctx.counters.loaded += n - bad;
  await ctx.db.query(`create index on ${parsed} (code)`);
  await ctx.db.query(`analyze ${parsed}`);
  return parsed;
}
