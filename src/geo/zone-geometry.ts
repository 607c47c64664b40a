import { pool } from '../db/pool';

/**
 * Geometries come from whatever contour table the geography sources (migrations 2xx) created:
 * detected at run time (a table of schema public whose name says contour, with a geometry column
 * and a code column), so these routes work before, and light up after, the contours are loaded.
 * Without a table every geometry is null and zones carry `coordinates: []`.
 *
 * Départements, régions and EPCI are read from `zone_contours` (sql/migrations/401_zone_contours.sql):
 * the official département outline or the union of the commune contours, computed once in SQL
 * after each change of the source tables (`warmZoneContours`, called by the contours pipeline right
 * after it publishes; `ensureZoneContours`, called before reading them, when that did not happen), and
 * only for zones whose every commune has a contour.
 */
export type Level = 'commune' | 'departement' | 'region' | 'epci';
interface Source {
  table: string;
  geom: string;
  code: string;
  /** Full geometry for areas, when the light one is served. */
  full?: string;
  /** Column holding the area in hectares (precomputed), instead of measuring a geometry. */
  area?: string;
  /** Extra condition on the table's rows (one level of zone_contours). */
  filter?: string;
}

const zoneSource = (level: 'departement' | 'region' | 'epci'): Source => ({
  table: 'zone_contours',
  geom: 'geom_simple',
  code: 'code',
  area: 'surface_ha',
  filter: `level = '${level}'`,
});
/** Levels read from zone_contours (rebuilt by zone_contours_refresh() when stale). */
const ZONE_LEVELS: ReadonlySet<Level> = new Set(['departement', 'region', 'epci']);

/** Tables of sql/migrations/200_geo.sql and 401_zone_contours.sql, preferred over detection; `geom_simple` is served, `geom` measured. */
const KNOWN: Partial<Record<Level, Source>> = {
  commune: { table: 'commune_contours', geom: 'geom_simple', code: 'code_commune', full: 'geom' },
  departement: zoneSource('departement'),
  region: zoneSource('region'),
  epci: zoneSource('epci'),
};

const CODE_COLUMNS = ['code', 'code_commune', 'code_insee', 'insee', 'code_departement', 'code_region', 'code_epci', 'siren'];
let detected: { url: string; at: number; sources: Partial<Record<Level, Source>>; key: string } | undefined;
/** Moves when the detected contour tables change (or on reset): part of the cache stamp (territoire/cache.ts). */
let generation = 0;
export function geometryGeneration(): number {
  return generation;
}

function levelOfTable(name: string): Level | undefined {
  if (!/contour/.test(name)) return undefined;
  if (/departement/.test(name)) return 'departement';
  if (/region/.test(name)) return 'region';
  if (/epci/.test(name)) return 'epci';
  if (/commune/.test(name) || /^contours?$/.test(name)) return 'commune';
  return undefined;
}

async function sources(): Promise<Partial<Record<Level, Source>>> {
  const url = pool().options.connectionString ?? '';
  if (detected && detected.url === url && Date.now() - detected.at < 30_000) return detected.sources;
  const { rows } = await pool().query(`select table_name, column_name, udt_name from information_schema.columns
                                        where table_schema = 'public' and table_name ~ 'contour' order by table_name, ordinal_position`);
  const byTable = new Map<string, { geom?: string; cols: string[] }>();
  for (const r of rows) {
    const t = byTable.get(r.table_name) ?? byTable.set(r.table_name, { cols: [] }).get(r.table_name)!;
    if (r.udt_name === 'geometry' && !t.geom) t.geom = r.column_name;
    t.cols.push(r.column_name);
  }
  const found: Partial<Record<Level, Source>> = {};
  for (const [level, k] of Object.entries(KNOWN) as [Level, Source][]) {
    const t = byTable.get(k.table);
    if (!t || !t.cols.includes(k.code) || !t.cols.includes(k.geom)) continue;
    // A known table that is still empty gives way to another contour table that has rows.
    const { rows: any } = await pool().query(`select 1 from ${k.table} ${k.filter ? `where ${k.filter}` : ''} limit 1`);
    if (any.length) found[level] = k;
  }
  const known = new Set(Object.values(KNOWN).map((k) => k!.table));
  for (const [table, t] of byTable) {
    if (known.has(table)) continue;
    const level = levelOfTable(table);
    const code = CODE_COLUMNS.find((c) => t.cols.includes(c));
    if (level && t.geom && code && !found[level]) found[level] = { table, geom: t.geom, code };
  }
  const key = JSON.stringify(found);
  if (detected && detected.key !== key) generation++;
  detected = { url, at: Date.now(), sources: found, key };
  return found;
}

export interface GeometryInfo {
  contour: GeoJSONGeometry | null;
  centre: GeoJSONGeometry | null;
  bbox: GeoJSONGeometry | null;
  /** Hectares. */
  surface: number | null;
  /** Envelope as a closed WKT polygon, lon/lat. */
  bboxWkt: string | null;
}
interface GeoJSONGeometry {
  type: string;
  coordinates: unknown;
}

let refreshing: { url: string; p: Promise<boolean> } | undefined;
/**
 * Rebuilds zone_contours when a source table changed since it was built (one cheap query when it
 * did not). Concurrent callers share one rebuild; other processes wait on the function's lock.
 * True when it rebuilt (the detected tables and the cache stamp then move).
 */
export async function ensureZoneContours(): Promise<boolean> {
  const url = pool().options.connectionString ?? '';
  if (refreshing?.url === url) return refreshing.p;
  const mine = { url, p: Promise.resolve(false) };
  mine.p = (async () => {
    await null; // settle only after `refreshing` is set below
    try {
      const { rows } = await pool().query(`select generation = built as fresh from zone_contours_state`);
      if (!rows.length || rows[0].fresh) return false;
      const {
        rows: [r],
      } = await pool().query(`select zone_contours_refresh() as n`);
      if (r.n < 0) return false;
      detected = undefined;
      generation++;
      return true;
    } catch (err) {
      // A database without migration 401: no zone contours.
      if ((err as { code?: string }).code === '42P01' || (err as { code?: string }).code === '42883') return false;
      throw err;
    } finally {
      if (refreshing === mine) refreshing = undefined;
    }
  })();
  refreshing = mine;
  return mine.p;
}

/**
 * Rebuilds zone_contours right after a publication that changed its source tables (called by the
 * contours pipeline once it has published), so that no HTTP request pays the rebuild. The rows are already
 * published: a failure is only logged, and the first read rebuilds it (ensureZoneContours).
 */
export async function warmZoneContours(log: (message: string) => void): Promise<void> {
  const t0 = Date.now();
  try {
    if (await ensureZoneContours()) log(`zone contours rebuilt in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    log(`zone contours not rebuilt (the first read will): ${(err as Error).message}`);
  }
}

/**
 * Geometries of `codes` at `level`, in WGS84. `want` limits the work: contours are heavy.
 */
export async function geometries(
  level: Level,
  codes: string[],
  want: { contour?: boolean; centre?: boolean; bbox?: boolean; surface?: boolean; wkt?: boolean },
): Promise<Map<string, GeometryInfo>> {
  const out = new Map<string, GeometryInfo>();
  if (codes.length && ZONE_LEVELS.has(level)) await ensureZoneContours();
  const src = (await sources())[level];
  if (!src || codes.length === 0) return out;
  const g = `st_transform(t.${src.geom}, 4326)`;
  const sel = [
    want.contour ? `st_asgeojson(st_multi(${g}), 6)` : 'null',
    want.centre ? `st_asgeojson(st_centroid(${g}), 6)` : 'null',
    want.bbox || want.wkt ? `st_asgeojson(st_envelope(${g}), 6)` : 'null',
    want.surface
      ? src.area
        ? `round(t.${src.area}::numeric, 2)::float8`
        : `round((st_area(${src.full ? `st_transform(t.${src.full}, 4326)` : g}::geography) / 10000)::numeric, 2)::float8`
      : 'null',
    want.wkt ? `st_astext(st_envelope(${g}))` : 'null',
  ];
  const { rows } = await pool().query(
    `select t.${src.code}::text as code, ${sel[0]} as contour, ${sel[1]} as centre, ${sel[2]} as bbox, ${sel[3]} as surface, ${sel[4]} as wkt
       from ${src.table} t where t.${src.code}::text = any($1::text[]) ${src.filter ? `and t.${src.filter}` : ''}`,
    [codes],
  );
  for (const r of rows) {
    out.set(r.code, {
      contour: r.contour ? JSON.parse(r.contour) : null,
      centre: r.centre ? JSON.parse(r.centre) : null,
      bbox: r.bbox ? JSON.parse(r.bbox) : null,
      surface: r.surface ?? null,
      bboxWkt: r.wkt ?? null,
    });
  }
  return out;
}

/** Test hook: forget the detected tables. */
export function resetGeometrySources(): void {
  detected = undefined;
  generation++;
}
