import { HttpError } from '../http/errors';
import { ADMIN_LEVEL, ParsedZoneId, ZoneLevel, inseeUriKey, parseZoneId, zoneId } from './ids';
import { CommuneRec, Referential, normalizeName, referential } from '../../communes/referential';
import { GeometryInfo, Level as GeoLevel, geometries } from '../../geo/zone-geometry';

/**
 * One resolver for every zone id (api-territoire.md §5.2), and the Feature of §1.3.
 */
export interface Zone {
  level: ZoneLevel;
  code: string;
  name: string;
  validity: { start: string; end: string };
  parents: string[];
  keys: Record<string, unknown>;
  population: number | null;
  /** Current zone (valid today) or a retired code. */
  current: boolean;
  successors: string[];
  ancestors: string[];
  /** Level of the geometry table, when this zone can have one. */
  geoLevel?: GeoLevel;
  parentName: string | null;
  uri: string | null;
  /** Asked with a date or @latest: answered with its dated GeoID (`fr:commune:35238@1942-01-01`), as udata's zones were. */
  dated?: boolean;
}

const FOREVER = '9999-12-31';
const COMMUNE_START = '1942-01-01';
const DEPARTEMENT_START = '1860-07-01';
// Regions born from the 2016 reform, and Mayotte (département and région since 2011).
const REGIONS_2016 = new Set(['27', '28', '32', '44', '75', '76', '84']);

function depStart(code: string): string {
  if (code === '2A' || code === '2B') return '1976-01-01';
  if (code === '976') return '2011-03-31';
  return DEPARTEMENT_START;
}
function regStart(code: string): string {
  if (REGIONS_2016.has(code)) return '2016-01-01';
  if (code === '06') return '2011-03-31';
  return '1970-01-09';
}

/** Name slugified with its case kept (awesome-slugify style): 'Saint-Étienne' → 'Saint-Etienne'. */
function slugify(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/œ/g, 'oe')
    .replace(/Œ/g, 'OE')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function communeZone(ref: Referential, c: CommuneRec): Zone {
  const parents = ['country:fr'];
  if (c.region) parents.push(zoneId('fr:region', c.region));
  if (c.departement) parents.push(zoneId('fr:departement', c.departement));
  if (c.arrondissement) parents.push(zoneId('fr:arrondissement', c.arrondissement));
  const epci = c.epci ?? (c.type === 'arrondissement-municipal' && c.parent ? ref.current.get(c.parent)?.epci : null);
  if (epci) parents.push(zoneId('fr:epci', epci));
  if (c.type === 'arrondissement-municipal' && c.parent) parents.push(zoneId('fr:commune', c.parent));
  const keys: Record<string, unknown> = { insee: c.code, postal: c.codesPostaux };
  if (c.siren) keys.siren = c.siren;
  return {
    level: 'fr:commune',
    code: c.code,
    name: c.nom,
    validity: { start: COMMUNE_START, end: FOREVER },
    parents,
    keys,
    population: c.population,
    current: true,
    successors: [],
    ancestors: (ref.ancestors.get(c.code) ?? []).map((a) => zoneId('fr:commune', a)),
    geoLevel: 'commune',
    parentName: c.departement ? (ref.departements.get(c.departement)?.nom ?? null) : null,
    uri: ref.inseeUris.get(inseeUriKey('fr:commune', c.code)) ?? null,
  };
}

/** A code that is no longer a current commune (merged, déléguée, associée): its historical zone. */
function retiredZone(ref: Referential, code: string): Zone | undefined {
  const succ = ref.successors.get(code);
  const sub = ref.subordinate.get(code);
  if (!succ?.length && !sub) return undefined;
  const targets = succ?.length ? succ.map((s) => s.codeActuel) : [sub!.parent!].filter(Boolean);
  const first = ref.current.get(targets[0]);
  const dep = sub?.departement ?? first?.departement ?? null;
  const end = ref.endDates.get(code) ?? succ?.find((s) => s.dateEffet)?.dateEffet ?? `${ref.cog}-01-01`;
  const parents = ['country:fr'];
  const region = sub?.region ?? first?.region;
  if (region) parents.push(zoneId('fr:region', region));
  if (dep) parents.push(zoneId('fr:departement', dep));
  return {
    level: 'fr:commune',
    code,
    name: sub?.nom ?? ref.oldNames.get(code) ?? `Ancienne commune ${code}`,
    validity: { start: COMMUNE_START, end },
    parents,
    keys: { insee: code },
    population: null,
    current: false,
    successors: [...new Set(targets)].map((t) => zoneId('fr:commune', t)),
    ancestors: [],
    parentName: dep ? (ref.departements.get(dep)?.nom ?? null) : null,
    uri: null,
  };
}

function currentZone(ref: Referential, level: ZoneLevel, code: string): Zone | undefined {
  switch (level) {
    case 'country':
      return {
        level,
        code: 'fr',
        name: 'France',
        validity: { start: '1870-09-04', end: FOREVER },
        parents: [],
        keys: { iso2: 'FR', iso3: 'FRA' },
        population: ref.actuelles.reduce((s, c) => s + (c.population ?? 0), 0),
        current: true,
        successors: [],
        ancestors: [],
        parentName: null,
        uri: null,
      };
    case 'fr:region': {
      const r = ref.regions.get(code);
      if (!r) return undefined;
      return {
        level,
        code,
        name: r.nom,
        validity: { start: regStart(code), end: FOREVER },
        parents: ['country:fr'],
        keys: { insee: code },
        population: r.population,
        current: true,
        successors: [],
        ancestors: [],
        geoLevel: 'region',
        parentName: null,
        uri: ref.inseeUris.get(inseeUriKey(level, code)) ?? null,
      };
    }
    case 'fr:departement': {
      const d = ref.departements.get(code);
      if (!d) return undefined;
      return {
        level,
        code,
        name: d.nom,
        validity: { start: depStart(code), end: FOREVER },
        parents: ['country:fr', ...(d.region ? [zoneId('fr:region', d.region)] : [])],
        keys: { insee: code },
        population: d.population,
        current: true,
        successors: [],
        ancestors: [],
        geoLevel: 'departement',
        parentName: d.region ? (ref.regions.get(d.region)?.nom ?? null) : null,
        uri: ref.inseeUris.get(inseeUriKey(level, code)) ?? null,
      };
    }
    case 'fr:epci': {
      const e = ref.epcis.get(code);
      if (!e) return undefined;
      return {
        level,
        code,
        name: e.nom,
        validity: { start: `${ref.cog}-01-01`, end: FOREVER },
        parents: ['country:fr', ...e.regions.map((r) => zoneId('fr:region', r)), ...e.departements.map((d) => zoneId('fr:departement', d))],
        keys: { siren: code, type_epci: e.type },
        population: e.population,
        current: true,
        successors: [],
        ancestors: [],
        geoLevel: 'epci',
        parentName: e.departements.length === 1 ? (ref.departements.get(e.departements[0])?.nom ?? null) : null,
        uri: ref.inseeUris.get(inseeUriKey(level, code)) ?? null,
      };
    }
    case 'fr:arrondissement': {
      const a = ref.arrondissements.get(code);
      if (!a) return undefined;
      return {
        level,
        code,
        name: a.nom,
        validity: { start: COMMUNE_START, end: FOREVER },
        parents: ['country:fr', ...(a.region ? [zoneId('fr:region', a.region)] : []), zoneId('fr:departement', a.departement)],
        keys: { insee: code },
        population: null,
        current: true,
        successors: [],
        ancestors: [],
        parentName: ref.departements.get(a.departement)?.nom ?? null,
        uri: null,
      };
    }
    case 'fr:commune': {
      const c = ref.current.get(code);
      return c ? communeZone(ref, c) : undefined;
    }
  }
}

const within = (d: string, v: { start: string; end: string }) => d >= v.start && d < v.end;

/**
 * Resolves a parsed id to its zone, or undefined (unknown code, or no version valid at the date).
 * `@latest` is the latest version of that code (udata v2.5.0 GeoZoneQuerySet.latest: the zone of the
 * code without an end, else the one that ended last): a retired code answers its own last version,
 * with its successors, never the commune that absorbed it. A date gives the version valid then.
 * Either way the zone is answered under its dated id.
 */
export function resolveParsed(ref: Referential, p: ParsedZoneId): Zone | undefined {
  const cur = currentZone(ref, p.level, p.code);
  const old = p.level === 'fr:commune' && !cur ? retiredZone(ref, p.code) : undefined;
  let z: Zone | undefined;
  if (p.at === 'latest') z = cur ?? old;
  else if (p.at) z = cur && within(p.at, cur.validity) ? cur : old && within(p.at, old.validity) ? old : undefined;
  else return cur ?? old;
  return z ? { ...z, dated: true } : undefined;
}

export async function resolveZone(raw: string): Promise<Zone> {
  const p = parseZoneId(raw);
  if (!p) throw new HttpError(404, `identifiant de zone inconnu : « ${raw} »`);
  const z = resolveParsed(await referential(), p);
  if (!z) throw new HttpError(404, `zone inconnue : « ${raw} »${p.at && p.at !== 'latest' ? ` à la date du ${p.at}` : ''}`);
  return z;
}

export interface ZoneFeature {
  id: string;
  type: 'Feature';
  geometry: { type: 'MultiPolygon'; coordinates: unknown[] };
  properties: Record<string, unknown>;
}

/** Geometries and areas of several zones at once (one query per geometry level). */
async function zoneGeometries(zones: Zone[], withContour = true): Promise<Map<Zone, GeometryInfo>> {
  const out = new Map<Zone, GeometryInfo>();
  const byLevel = new Map<GeoLevel, Zone[]>();
  for (const z of zones) if (z.geoLevel) (byLevel.get(z.geoLevel) ?? byLevel.set(z.geoLevel, []).get(z.geoLevel)!).push(z);
  for (const [level, zs] of byLevel) {
    const g = await geometries(
      level,
      zs.map((z) => z.code),
      { contour: withContour, surface: true },
    );
    for (const z of zs) {
      const gi = g.get(z.code);
      if (gi) out.set(z, gi);
    }
  }
  return out;
}

function toFeature(z: Zone, geo?: GeometryInfo): ZoneFeature {
  const contour = geo?.contour as { type: string; coordinates: unknown[] } | null | undefined;
  const properties: Record<string, unknown> = {
    slug: slugify(z.name),
    name: z.name,
    level: z.level,
    code: z.code,
    uri: z.uri,
    geoid: `${zoneId(z.level, z.code)}@${z.validity.start}`,
    validity: z.validity,
    parents: z.parents,
    keys: z.keys,
    population: z.population,
    area: geo?.surface != null ? Math.round(geo.surface) : null,
    logo: '',
    ancestors: z.ancestors,
    successors: z.successors,
  };
  return {
    id: z.dated ? `${zoneId(z.level, z.code)}@${z.validity.start}` : zoneId(z.level, z.code),
    type: 'Feature',
    geometry: { type: 'MultiPolygon', coordinates: contour && contour.type === 'MultiPolygon' ? contour.coordinates : [] },
    properties,
  };
}

export async function featureOf(z: Zone): Promise<ZoneFeature> {
  const g = await zoneGeometries([z]);
  return toFeature(z, g.get(z));
}

export async function featureCollection(
  zones: Zone[],
  withContour = true,
): Promise<{ type: 'FeatureCollection'; features: ZoneFeature[] }> {
  const g = await zoneGeometries(zones, withContour);
  return { type: 'FeatureCollection', features: zones.map((z) => toFeature(z, g.get(z))) };
}

const byName = (a: Zone, b: Zone) => a.name.localeCompare(b.name, 'fr') || (a.code < b.code ? -1 : 1);

/** Next level down, current zones only, by name. */
export function childrenOf(ref: Referential, z: Zone): Zone[] {
  let out: Zone[] = [];
  if (!z.current) return [];
  switch (z.level) {
    case 'country':
      out = [...ref.regions.values()].filter((r) => r.zone !== 'com').map((r) => currentZone(ref, 'fr:region', r.code)!);
      break;
    case 'fr:region':
      out = [...ref.departements.values()]
        .filter((d) => d.region === z.code && d.zone !== 'com')
        .map((d) => currentZone(ref, 'fr:departement', d.code)!);
      break;
    case 'fr:departement':
      out = ref.actuelles.filter((c) => c.departement === z.code).map((c) => communeZone(ref, c));
      break;
    case 'fr:arrondissement':
      out = ref.actuelles.filter((c) => c.arrondissement === z.code).map((c) => communeZone(ref, c));
      break;
    case 'fr:epci':
      out = (ref.epcis.get(z.code)?.membres ?? [])
        .map((m) => ref.current.get(m))
        .filter((c): c is CommuneRec => Boolean(c))
        .map((c) => communeZone(ref, c));
      break;
    case 'fr:commune':
      out = [];
      break;
  }
  return out.sort(byName);
}

/** Every current zone of a level (coverage). */
export function zonesOfLevel(ref: Referential, level: ZoneLevel): Zone[] {
  switch (level) {
    case 'country':
      return [currentZone(ref, 'country', 'fr')!];
    // Collectivités d'outre-mer (zone 'com') are neither regions nor départements: resolvable one by one, not listed.
    case 'fr:region':
      return [...ref.regions.values()]
        .filter((r) => r.zone !== 'com')
        .map((r) => r.code)
        .sort()
        .map((c) => currentZone(ref, level, c)!);
    case 'fr:departement':
      return [...ref.departements.values()]
        .filter((d) => d.zone !== 'com')
        .map((d) => d.code)
        .sort()
        .map((c) => currentZone(ref, level, c)!);
    case 'fr:epci':
      return [...ref.epcis.keys()].sort().map((c) => currentZone(ref, level, c)!);
    case 'fr:arrondissement':
      return [...ref.arrondissements.keys()].sort().map((c) => currentZone(ref, level, c)!);
    case 'fr:commune':
      return ref.actuelles.map((c) => communeZone(ref, c));
  }
}

export interface Suggestion {
  zone: Zone;
  score: number;
}

/**
 * Zone suggest as data.gouv.fr answers it (opendatateam/udata@25b5a2ddd, udata/core/spatial/api.py
 * SuggestZonesAPI and its tests udata/core/spatial/tests/test_api.py): a case-insensitive substring of
 * the name, the code or the id (`fr:commune:35238`), the accent-folded name here too, plus postal codes
 * and SIREN by prefix (the 2017 keys); sorted by admin level (country, region, département, EPCI,
 * arrondissement, commune), then by match quality and population within a level.
 */
export function suggestZones(ref: Referential, q: string, size: number): Suggestion[] {
  const nq = normalizeName(q);
  const uq = q.trim().toUpperCase();
  const lq = q.trim().toLowerCase();
  if (!nq && !uq) return [];
  const out: Suggestion[] = [];
  const quality = (norm: string, id: string, codes: readonly (string | null)[]): number => {
    let codeQ = 0;
    for (const c of codes) {
      if (!c) continue;
      if (c === uq) return 4;
      if (codeQ === 0 && c.startsWith(uq)) codeQ = 2;
      else if (codeQ === 0 && c.includes(uq)) codeQ = 1;
    }
    if (id === lq) return 4;
    if (nq && norm === nq) return 4;
    if (nq && norm.startsWith(nq)) return 3;
    if (nq && norm.includes(` ${nq}`)) return 2;
    if (codeQ) return codeQ;
    if (nq && norm.includes(nq)) return 1;
    if (lq.includes(':') && id.includes(lq)) return 1;
    return 0;
  };
  const push = (z: Zone | undefined, norm: string, codes: readonly (string | null)[]) => {
    if (!z) return;
    const qual = quality(norm, zoneId(z.level, z.code), codes);
    if (qual > 0) out.push({ zone: z, score: qual });
  };
  for (const r of ref.regions.values()) push(currentZone(ref, 'fr:region', r.code), r.norm, [r.code]);
  for (const d of ref.departements.values()) push(currentZone(ref, 'fr:departement', d.code), d.norm, [d.code]);
  for (const e of ref.epcis.values()) push(currentZone(ref, 'fr:epci', e.code), e.norm, [e.code]);
  const asId = lq.includes(':');
  for (const c of ref.actuelles) {
    // Cheap rejection first: most communes match neither the name nor a code.
    if (
      !(nq && c.norm.includes(nq)) &&
      !c.code.includes(uq) &&
      !(c.siren ?? '').startsWith(uq) &&
      !c.codesPostaux.some((p) => p.startsWith(uq)) &&
      !(asId && `fr:commune:${c.code.toLowerCase()}`.includes(lq))
    )
      continue;
    const qual = quality(c.norm, zoneId('fr:commune', c.code), [c.code, ...c.codesPostaux, c.siren]);
    if (qual > 0) out.push({ zone: communeZone(ref, c), score: qual });
  }
  out.sort(
    (a, b) =>
      ADMIN_LEVEL[a.zone.level] - ADMIN_LEVEL[b.zone.level] ||
      b.score - a.score ||
      (b.zone.population ?? 0) - (a.zone.population ?? 0) ||
      (a.zone.code < b.zone.code ? -1 : 1),
  );
  // A float score as udata gave: quality plus a population tie-breaker below 1.
  return out.slice(0, size).map((s) => ({ zone: s.zone, score: s.score + Math.min(0.99, Math.log10(1 + (s.zone.population ?? 0)) / 10) }));
}

/**
 * /territory/suggest matching (§1.4): 2 digits or 2A/2B → département; 3 digits → DROM département;
 * 5 characters → commune by INSEE or postal code; 4+ characters → name prefix or exact name.
 * Sorted by population.
 */
export function territorySuggest(ref: Referential, q: string): Zone[] {
  const s = q.trim();
  const u = s.toUpperCase();
  let out: Zone[] = [];
  if (/^(\d{2}|2[AB])$/.test(u)) out = [currentZone(ref, 'fr:departement', u)].filter((z): z is Zone => Boolean(z));
  else if (/^\d{3}$/.test(u)) out = [currentZone(ref, 'fr:departement', u)].filter((z): z is Zone => Boolean(z) && /^97/.test(u));
  if (/^[0-9AB]{5}$/.test(u) && /^\d|^2[AB]/.test(u)) {
    const byCode = ref.current.get(u);
    const matches = new Map<string, CommuneRec>();
    if (byCode && byCode.type === 'commune-actuelle') matches.set(byCode.code, byCode);
    for (const c of ref.actuelles) if (c.codesPostaux.includes(u)) matches.set(c.code, c);
    out.push(...[...matches.values()].map((c) => communeZone(ref, c)));
  }
  if (s.length >= 4 && !/^\d+$/.test(s)) {
    const n = normalizeName(s);
    for (const d of ref.departements.values()) if (d.norm.startsWith(n)) out.push(currentZone(ref, 'fr:departement', d.code)!);
    for (const r of ref.regions.values()) if (r.norm.startsWith(n)) out.push(currentZone(ref, 'fr:region', r.code)!);
    for (const c of ref.actuelles) if (c.norm.startsWith(n)) out.push(communeZone(ref, c));
  }
  return out.sort((a, b) => (b.population ?? 0) - (a.population ?? 0));
}
