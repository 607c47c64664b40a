import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HttpError, RouteDoc, parseQuery } from '../territoire/docs';
import { CommuneRec, DepartementRec, EpciRec, Referential, RegionRec, normalizeName, referential } from '../territoire/referential';
import { GeometryInfo, Level, geometries } from '../geo/geometry';
import { CommunesQuery, DepartementsQuery, EpcisQuery, OneQuery, RegionsQuery, SubCommunesQuery } from '../geo/schemas';

/**
 * geo.api.gouv.fr-style routes (api-territoire.md §3.1): /communes (list; the single
 * /communes/{code} belongs to src/server/routes/communes.ts), /departements, /regions, /epcis.
 */
const GEOMETRY_FIELDS = ['centre', 'contour', 'bbox', 'mairie'] as const;
type GeoField = typeof GEOMETRY_FIELDS[number];
const isGeo = (f: string): f is GeoField => (GEOMETRY_FIELDS as readonly string[]).includes(f);

interface Kind<T> {
  level: Level;
  defaults: string[];
  build(rec: T, ref: Referential): Record<string, unknown>;
  code(rec: T): string;
}

const COMMUNE: Kind<CommuneRec> = {
  level: 'commune',
  defaults: ['nom', 'code', 'codeDepartement', 'siren', 'codeEpci', 'codeRegion', 'codesPostaux', 'population'],
  code: (c) => c.code,
  build: (c, ref) => {
    const epci = c.epci ?? (c.type === 'arrondissement-municipal' && c.parent ? ref.current.get(c.parent)?.epci ?? null : null);
    return {
      nom: c.nom, code: c.code, type: c.type, siren: c.siren ?? undefined, codeDepartement: c.departement ?? undefined, codeRegion: c.region ?? undefined,
      codeEpci: epci ?? undefined, codesPostaux: c.codesPostaux, population: c.population ?? undefined, zone: c.zone ?? undefined,
      anciensCodes: c.anciensCodes, codeParent: c.type === 'arrondissement-municipal' ? c.parent ?? undefined : undefined,
      departement: c.departement ? { code: c.departement, nom: ref.departements.get(c.departement)?.nom } : undefined,
      region: c.region ? { code: c.region, nom: ref.regions.get(c.region)?.nom } : undefined,
      epci: epci ? { code: epci, nom: ref.epcis.get(epci)?.nom } : undefined,
    };
  },
};
const DEPARTEMENT: Kind<DepartementRec> = {
  level: 'departement', defaults: ['nom', 'code', 'codeRegion'], code: (d) => d.code,
  build: (d, ref) => ({ nom: d.nom, code: d.code, codeRegion: d.region ?? undefined, zone: d.zone, population: d.population,
    region: d.region ? { code: d.region, nom: ref.regions.get(d.region)?.nom } : undefined }),
};
const REGION: Kind<RegionRec> = {
  level: 'region', defaults: ['nom', 'code'], code: (r) => r.code,
  build: (r) => ({ nom: r.nom, code: r.code, zone: r.zone, population: r.population }),
};
const EPCI: Kind<EpciRec> = {
  level: 'epci', defaults: ['nom', 'code', 'codesDepartements', 'codesRegions', 'population'], code: (e) => e.code,
  build: (e) => ({ nom: e.nom, code: e.code, type: e.type ?? undefined, codesDepartements: e.departements, codesRegions: e.regions, population: e.population ?? undefined }),
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

interface OutputOpts { fields?: string[]; format: 'json' | 'geojson'; geometry?: GeoField; limit?: number }

async function render<T>(kind: Kind<T>, recs: { rec: T; score?: number }[], opts: OutputOpts, ref: Referential, single = false): Promise<unknown> {
  const fields = opts.fields?.length ? ['nom', 'code', ...opts.fields.filter((f) => f !== 'nom' && f !== 'code')] : kind.defaults;
  const limited = opts.limit != null ? recs.slice(0, opts.limit) : recs;
  const geoJson = opts.format === 'geojson';
  const geometry: GeoField = opts.geometry ?? 'centre';
  const geoFields = new Set<GeoField>(fields.filter(isGeo));
  if (geoJson) geoFields.add(geometry);
  const wantSurface = fields.includes('surface');
  let geo = new Map<string, GeometryInfo>();
  if (geoFields.size || wantSurface) {
    geo = await geometries(kind.level, limited.map((r) => kind.code(r.rec)), {
      contour: geoFields.has('contour'), centre: geoFields.has('centre') || geoFields.has('mairie'), bbox: geoFields.has('bbox'), surface: wantSurface,
    });
  }
  const items = limited.map(({ rec, score }) => {
    const all = kind.build(rec, ref);
    const g = geo.get(kind.code(rec));
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      if (isGeo(f)) {
        // mairie: no town-hall position loaded; the centre stands in when there is one.
        out[f] = (f === 'mairie' ? g?.centre : g?.[f]) ?? null;
      } else if (f === 'surface') out[f] = g?.surface ?? null;
      else if (all[f] !== undefined) out[f] = all[f];
    }
    if (score !== undefined) out._score = Math.round(score * 1000) / 1000;
    if (!geoJson) return out;
    for (const f of GEOMETRY_FIELDS) delete out[f];
    const geom = (geometry === 'mairie' ? g?.centre : g?.[geometry]) ?? null;
    return { type: 'Feature', geometry: geom, properties: out };
  });
  if (single) return items[0];
  return geoJson ? { type: 'FeatureCollection', features: items } : items;
}

const inZones = (zone: string | null | undefined, zones: string[]) => zones.includes(zone ?? '');

interface CommuneIndex { byDep: Map<string, CommuneRec[]>; byPostal: Map<string, CommuneRec[]>; all: CommuneRec[] }
const indexes = new WeakMap<Referential, CommuneIndex>();
/** Seeds for the filters, built once per referential: département and postal code → communes (both types). */
function communeIndex(ref: Referential): CommuneIndex {
  let ix = indexes.get(ref);
  if (ix) return ix;
  const all = ref.actuelles.concat(ref.arrondissementsMunicipaux);
  const byDep = new Map<string, CommuneRec[]>();
  const byPostal = new Map<string, CommuneRec[]>();
  for (const c of all) {
    if (c.departement) (byDep.get(c.departement) ?? byDep.set(c.departement, []).get(c.departement)!).push(c);
    for (const cp of c.codesPostaux) (byPostal.get(cp) ?? byPostal.set(cp, []).get(cp)!).push(c);
  }
  ix = { byDep, byPostal, all };
  indexes.set(ref, ix);
  return ix;
}

function filterCommunes(ref: Referential, q: z.infer<typeof CommunesQuery>): { rec: CommuneRec; score?: number }[] {
  const types = q.type ?? (q.codeParent ? ['arrondissement-municipal'] : ['commune-actuelle']);
  const zones = q.zone ?? ['metro', 'drom', 'com'];
  const ix = communeIndex(ref);
  // The narrowest seed list, then one pass with every filter.
  let seed: CommuneRec[];
  if (q.code) seed = [ref.current.get(q.code), ...ref.arrondissementsMunicipaux.filter((a) => a.code === q.code)].filter((c): c is CommuneRec => Boolean(c));
  else if (q.codePostal) seed = ix.byPostal.get(q.codePostal) ?? [];
  else if (q.codeDepartement) seed = ix.byDep.get(q.codeDepartement) ?? [];
  else seed = ix.all;
  const ancien = q.ancienCode ? new Set((ref.successors.get(q.ancienCode) ?? []).map((s) => s.codeActuel)) : undefined;
  const members = q.codeEpci ? new Set(ref.epcis.get(q.codeEpci)?.membres ?? []) : undefined;
  const nq = q.nom ? normalizeName(q.nom) : '';
  const out: { rec: CommuneRec; score?: number }[] = [];
  const seen = new Set<CommuneRec>();
  for (const c of seed) {
    if (seen.has(c)) continue;
    seen.add(c);
    if (!types.includes(c.type as typeof types[number])) continue;
    if (q.code && c.code !== q.code) continue;
    if (ancien && !(ancien.has(c.code) || c.anciensCodes.includes(q.ancienCode!))) continue;
    if (q.codePostal && !c.codesPostaux.includes(q.codePostal)) continue;
    if (q.siren && c.siren !== q.siren) continue;
    if (q.codeDepartement && c.departement !== q.codeDepartement) continue;
    if (q.codeRegion && c.region !== q.codeRegion) continue;
    if (members && !(members.has(c.code) || (c.type === 'arrondissement-municipal' && c.parent != null && members.has(c.parent)))) continue;
    if (q.codeParent && c.parent !== q.codeParent) continue;
    if (!inZones(c.zone, zones)) continue;
    if (nq) {
      const score = nameScore(c.norm, nq);
      if (score > 0) out.push({ rec: c, score });
    } else out.push({ rec: c });
  }
  if (nq) out.sort((a, b) => b.score! - a.score! || (q.boost === 'population' ? (b.rec.population ?? 0) - (a.rec.population ?? 0) : 0) || (a.rec.code < b.rec.code ? -1 : 1));
  else out.sort((a, b) => (a.rec.code < b.rec.code ? -1 : a.rec.code > b.rec.code ? 1 : 0));
  return out;
}

function byName<T extends { norm: string }>(recs: T[], nom: string | undefined): { rec: T; score?: number }[] {
  if (!nom) return recs.map((rec) => ({ rec }));
  const nq = normalizeName(nom);
  return recs.map((rec) => ({ rec, score: nameScore(rec.norm, nq) })).filter((s) => s.score > 0).sort((a, b) => b.score - a.score);
}

const ERR = { 400: 'invalid query parameter', 404: 'unknown code' };
export const docs: RouteDoc[] = [
  { method: 'get', path: '/communes', tag: 'geo', summary: 'Communes (filters: codePostal, code, siren, nom, codeDepartement, codeRegion, codeEpci, type, zone, ancienCode, codeParent); format=geojson needs a filter', query: CommunesQuery, errors: { 400: ERR[400] } },
  { method: 'get', path: '/departements', tag: 'geo', summary: 'Départements', query: DepartementsQuery, errors: { 400: ERR[400] } },
  { method: 'get', path: '/departements/{code}', tag: 'geo', summary: 'One département', params: { code: 'département code' }, query: OneQuery, errors: ERR },
  { method: 'get', path: '/departements/{code}/communes', tag: 'geo', summary: 'Communes of a département', params: { code: 'département code' }, query: SubCommunesQuery, errors: ERR },
  { method: 'get', path: '/regions', tag: 'geo', summary: 'Régions', query: RegionsQuery, errors: { 400: ERR[400] } },
  { method: 'get', path: '/regions/{code}', tag: 'geo', summary: 'One région', params: { code: 'région code' }, query: OneQuery, errors: ERR },
  { method: 'get', path: '/regions/{code}/departements', tag: 'geo', summary: 'Départements of a région', params: { code: 'région code' }, query: DepartementsQuery, errors: ERR },
  { method: 'get', path: '/epcis', tag: 'geo', summary: 'EPCI (intercommunalités)', query: EpcisQuery, errors: { 400: ERR[400] } },
  { method: 'get', path: '/epcis/{code}', tag: 'geo', summary: 'One EPCI', params: { code: 'SIREN of the EPCI' }, query: OneQuery, errors: ERR },
  { method: 'get', path: '/epcis/{code}/communes', tag: 'geo', summary: 'Member communes of an EPCI', params: { code: 'SIREN of the EPCI' }, query: SubCommunesQuery, errors: ERR },
];

function reply(r: FastifyReply, body: unknown, format: 'json' | 'geojson') {
  return r.type(format === 'geojson' ? 'application/geo+json; charset=utf-8' : 'application/json; charset=utf-8').send(body);
}

export default async function geo(app: FastifyInstance): Promise<void> {
  app.get('/communes', async (req, res) => {
    const q = parseQuery(CommunesQuery, req.query);
    const filtered = q.codePostal || q.code || q.siren || q.nom || q.codeDepartement || q.codeRegion || q.codeEpci || q.ancienCode || q.codeParent;
    if (!filtered && (q.format === 'geojson' || q.fields?.includes('contour'))) {
      throw new HttpError(400, 'format=geojson and fields=contour need at least one filter on /communes');
    }
    const ref = await referential();
    return reply(res, await render(COMMUNE, filterCommunes(ref, q), q, ref), q.format);
  });

  const subCommunes = (container: 'codeDepartement' | 'codeEpci', exists: (ref: Referential, code: string) => boolean) =>
    async (req: FastifyRequest<{ Params: { code: string } }>, res: FastifyReply) => {
      const q = parseQuery(SubCommunesQuery, req.query);
      const code = req.params.code.toUpperCase();
      const ref = await referential();
      if (!exists(ref, code)) throw new HttpError(404, `unknown code '${req.params.code}'`);
      return reply(res, await render(COMMUNE, filterCommunes(ref, { ...q, [container]: code }), q, ref), q.format);
    };

  app.get('/departements', async (req, res) => {
    const q = parseQuery(DepartementsQuery, req.query);
    const ref = await referential();
    const zones = q.zone ?? ['metro', 'drom'];
    const recs = [...ref.departements.values()].filter((d) => (!q.code || d.code === q.code) && (!q.codeRegion || d.region === q.codeRegion) && inZones(d.zone, zones))
      .sort((a, b) => (a.code < b.code ? -1 : 1));
    return reply(res, await render(DEPARTEMENT, byName(recs, q.nom), q, ref), q.format);
  });
  app.get<{ Params: { code: string } }>('/departements/:code', async (req, res) => {
    const q = parseQuery(OneQuery, req.query);
    const ref = await referential();
    const d = ref.departements.get(req.params.code.toUpperCase());
    if (!d) throw new HttpError(404, `unknown département '${req.params.code}'`);
    return reply(res, await render(DEPARTEMENT, [{ rec: d }], q, ref, true), q.format);
  });
  app.get('/departements/:code/communes', subCommunes('codeDepartement', (ref, c) => ref.departements.has(c)));

  app.get('/regions', async (req, res) => {
    const q = parseQuery(RegionsQuery, req.query);
    const ref = await referential();
    const zones = q.zone ?? ['metro', 'drom'];
    const recs = [...ref.regions.values()].filter((r) => (!q.code || r.code === q.code) && inZones(r.zone, zones)).sort((a, b) => (a.code < b.code ? -1 : 1));
    return reply(res, await render(REGION, byName(recs, q.nom), q, ref), q.format);
  });
  app.get<{ Params: { code: string } }>('/regions/:code', async (req, res) => {
    const q = parseQuery(OneQuery, req.query);
    const ref = await referential();
    const r = ref.regions.get(req.params.code);
    if (!r) throw new HttpError(404, `unknown région '${req.params.code}'`);
    return reply(res, await render(REGION, [{ rec: r }], q, ref, true), q.format);
  });
  app.get<{ Params: { code: string } }>('/regions/:code/departements', async (req, res) => {
    const q = parseQuery(DepartementsQuery, req.query);
    const ref = await referential();
    if (!ref.regions.has(req.params.code)) throw new HttpError(404, `unknown région '${req.params.code}'`);
    const recs = [...ref.departements.values()].filter((d) => d.region === req.params.code && (!q.code || d.code === q.code)).sort((a, b) => (a.code < b.code ? -1 : 1));
    return reply(res, await render(DEPARTEMENT, byName(recs, q.nom), q, ref), q.format);
  });

  app.get('/epcis', async (req, res) => {
    const q = parseQuery(EpcisQuery, req.query);
    const ref = await referential();
    const recs = [...ref.epcis.values()].filter((e) => (!q.code || e.code === q.code)
      && (!q.codeDepartement || e.departements.includes(q.codeDepartement)) && (!q.codeRegion || e.regions.includes(q.codeRegion))
      && (!q.zone || e.regions.some((r) => inZones(ref.regions.get(r)?.zone, q.zone!)))).sort((a, b) => (a.code < b.code ? -1 : 1));
    return reply(res, await render(EPCI, byName(recs, q.nom), q, ref), q.format);
  });
  app.get<{ Params: { code: string } }>('/epcis/:code', async (req, res) => {
    const q = parseQuery(OneQuery, req.query);
    const ref = await referential();
    const e = ref.epcis.get(req.params.code);
    if (!e) throw new HttpError(404, `unknown EPCI '${req.params.code}'`);
    return reply(res, await render(EPCI, [{ rec: e }], q, ref, true), q.format);
  });
  app.get('/epcis/:code/communes', subCommunes('codeEpci', (ref, c) => ref.epcis.has(c)));
}
