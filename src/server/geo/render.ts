import { GeometryInfo, Level, geometries } from '../../geo/zone-geometry';
import { CommuneRec, DepartementRec, EpciRec, Referential, RegionRec } from '../../communes/referential';

/**
 * Rendering of the geo.api.gouv.fr-style answers (api-territoire.md §3.1), shared by the list
 * routes (routes/geo.ts) and the single commune of routes/communes.ts: `fields` (nom and code
 * always first), `format=json|geojson`, `geometry=centre|contour|bbox|mairie`, `limit`.
 */
const GEOMETRY_FIELDS = ['centre', 'contour', 'bbox', 'mairie'] as const;
type GeoField = (typeof GEOMETRY_FIELDS)[number];
const isGeo = (f: string): f is GeoField => (GEOMETRY_FIELDS as readonly string[]).includes(f);
/** Départements, régions, EPCI: contours from zone_contours (union of the commune contours), no mairie. */
const ZONE_GEOMETRIES: readonly GeoField[] = ['centre', 'contour', 'bbox'];

export interface Kind<T> {
  level: Level;
  /** Geometry fields this kind has (only communes have a mairie). */
  geometries: readonly GeoField[];
  defaults: string[];
  build(rec: T, ref: Referential): Record<string, unknown>;
  code(rec: T): string;
}

export const COMMUNE: Kind<CommuneRec> = {
  level: 'commune',
  geometries: GEOMETRY_FIELDS,
  defaults: ['nom', 'code', 'codeDepartement', 'siren', 'codeEpci', 'codeRegion', 'codesPostaux', 'population'],
  code: (c) => c.code,
  build: (c, ref) => {
    const epci = c.epci ?? (c.type === 'arrondissement-municipal' && c.parent ? (ref.current.get(c.parent)?.epci ?? null) : null);
    return {
      nom: c.nom,
      code: c.code,
      type: c.type,
      siren: c.siren ?? undefined,
      codeDepartement: c.departement ?? undefined,
      codeRegion: c.region ?? undefined,
      codeEpci: epci ?? undefined,
      codesPostaux: c.codesPostaux,
      population: c.population ?? undefined,
      zone: c.zone ?? undefined,
      anciensCodes: c.anciensCodes,
      codeParent: c.type === 'arrondissement-municipal' ? (c.parent ?? undefined) : undefined,
      departement: c.departement ? { code: c.departement, nom: ref.departements.get(c.departement)?.nom } : undefined,
      region: c.region ? { code: c.region, nom: ref.regions.get(c.region)?.nom } : undefined,
      epci: epci ? { code: epci, nom: ref.epcis.get(epci)?.nom } : undefined,
    };
  },
};
export const DEPARTEMENT: Kind<DepartementRec> = {
  level: 'departement',
  geometries: ZONE_GEOMETRIES,
  defaults: ['nom', 'code', 'codeRegion'],
  code: (d) => d.code,
  build: (d, ref) => ({
    nom: d.nom,
    code: d.code,
    codeRegion: d.region ?? undefined,
    zone: d.zone,
    population: d.population,
    region: d.region ? { code: d.region, nom: ref.regions.get(d.region)?.nom } : undefined,
  }),
};
export const REGION: Kind<RegionRec> = {
  level: 'region',
  geometries: ZONE_GEOMETRIES,
  defaults: ['nom', 'code'],
  code: (r) => r.code,
  build: (r) => ({ nom: r.nom, code: r.code, zone: r.zone, population: r.population }),
};
export const EPCI: Kind<EpciRec> = {
  level: 'epci',
  geometries: ZONE_GEOMETRIES,
  defaults: ['nom', 'code', 'codesDepartements', 'codesRegions', 'population'],
  code: (e) => e.code,
  build: (e) => ({
    nom: e.nom,
    code: e.code,
    type: e.type ?? undefined,
    codesDepartements: e.departements,
    codesRegions: e.regions,
    population: e.population ?? undefined,
  }),
};

/** Accent-insensitive name score in ]0, 1]; 0 = no match. */
export function nameScore(norm: string, nq: string): number {
  if (!nq) return 0;
  if (norm === nq) return 1;
  const ratio = nq.length / Math.max(norm.length, 1);
  if (norm.startsWith(nq)) return 0.8 + 0.19 * ratio;
  if (norm.includes(` ${nq}`)) return 0.6 + 0.19 * ratio;
  if (nq.includes(' ')) {
    const words = norm.split(' ');
    if (nq.split(' ').every((q) => words.some((w) => w.startsWith(q)))) return 0.5 + 0.09 * ratio;
  }
  if (nq.length >= 3 && norm.includes(nq)) return 0.3 + 0.19 * ratio;
  return 0;
}

export interface OutputOpts {
  fields?: string[];
  format: 'json' | 'geojson';
  geometry?: GeoField;
  limit?: number;
  /** Fields when `fields` is not given (default: the kind's geo.api defaults). */
  defaults?: string[];
}

/**
 * Every field of a record, built once per record: records belong to one referential (a reload
 * makes new ones), so the memo is dropped with it. The objects are only read (serialised).
 */
const built = new WeakMap<object, Record<string, unknown>>();
function builtOf<T>(kind: Kind<T>, rec: T, ref: Referential): Record<string, unknown> {
  const key = rec as unknown as object;
  let all = built.get(key);
  if (!all) {
    all = kind.build(rec, ref);
    built.set(key, all);
  }
  return all;
}

/**
 * The answer for `recs`: an array or a FeatureCollection, or one object or Feature when `single`.
 * `extra` adds fields that the kind does not build (the summary's pack and donnees), selectable
 * with `fields` like the others.
 */
export async function render<T>(
  kind: Kind<T>,
  recs: { rec: T; score?: number }[],
  opts: OutputOpts,
  ref: Referential,
  single = false,
  extra?: Record<string, unknown>,
): Promise<unknown> {
  // A geometry field the kind does not have (mairie of a département) is an unknown field: left out.
  const fields = (
    opts.fields?.length ? ['nom', 'code', ...opts.fields.filter((f) => f !== 'nom' && f !== 'code')] : (opts.defaults ?? kind.defaults)
  ).filter((f) => !isGeo(f) || kind.geometries.includes(f));
  const limited = opts.limit != null ? recs.slice(0, opts.limit) : recs;
  const geoJson = opts.format === 'geojson';
  const geometry: GeoField = opts.geometry ?? 'centre';
  const geoFields = new Set<GeoField>(fields.filter(isGeo));
  if (geoJson) geoFields.add(geometry);
  const wantSurface = fields.includes('surface');
  let geo = new Map<string, GeometryInfo>();
  if ([...geoFields].some((f) => f !== 'mairie') || wantSurface) {
    geo = await geometries(
      kind.level,
      limited.map((r) => kind.code(r.rec)),
      {
        contour: geoFields.has('contour'),
        centre: geoFields.has('centre'),
        bbox: geoFields.has('bbox'),
        surface: wantSurface,
      },
    );
  }
  // mairie: no source of town-hall positions is loaded, so it is null (documented deviation from
  // geo.api, which gives the town hall's point; the centre is not passed off as the town hall).
  const geometryOf = (g: GeometryInfo | undefined, f: GeoField) => (f === 'mairie' ? null : (g?.[f] ?? null));
  const items = limited.map(({ rec, score }) => {
    const all = extra ? { ...builtOf(kind, rec, ref), ...extra } : builtOf(kind, rec, ref);
    const g = geo.get(kind.code(rec));
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      if (isGeo(f)) out[f] = geometryOf(g, f);
      else if (f === 'surface') out[f] = g?.surface ?? null;
      else if (all[f] !== undefined) out[f] = all[f];
    }
    if (score !== undefined) out._score = Math.round(score * 1000) / 1000;
    if (!geoJson) return out;
    for (const f of GEOMETRY_FIELDS) delete out[f];
    return { type: 'Feature', geometry: geometryOf(g, geometry), properties: out };
  });
  if (single) return items[0];
  return geoJson ? { type: 'FeatureCollection', features: items } : items;
}

/** Content type of a geo.api answer. */
export const contentType = (format: 'json' | 'geojson') =>
  format === 'geojson' ? 'application/geo+json; charset=utf-8' : 'application/json; charset=utf-8';
